import type { FastifyInstance } from "fastify";
import { readAspectRatio } from "../../qwen/chat-types.js";
import {
  type AppContext,
  ingestAttachments,
  readChatId,
  resolveModel,
  startTurnFor,
} from "../app-context.js";
import { clientAbortSignal } from "../client-abort.js";
import { CompletionRenderer } from "../openai/completion-renderer.js";
import { sendTurn } from "../send-turn.js";
import { parseNativeChatRequest } from "./chat-request.js";

/**
 * `POST /api/chat`: one new message; the context comes from the stored history of `chatId`
 * (a new chat when absent). Answers OpenAI-like JSON plus `chatId` and `parentId`, or SSE.
 */
export function registerChat(app: FastifyInstance, context: AppContext): void {
  app.post("/api/chat", async (request, reply) => {
    const { request: body, message: raw, attachmentParams, system } = parseNativeChatRequest(request.body);
    const chatId = readChatId(body.chatId, "chatId");
    const selection = await resolveModel(context, body.model, {
      thinking: body.enable_thinking ?? undefined,
      search: body.enable_search ?? undefined,
    });
    const signal = clientAbortSignal(request, reply);
    const message = await ingestAttachments(context, raw, attachmentParams, signal);
    const turn = await startTurnFor(
      context,
      {
        selection,
        message,
        system,
        chatId,
        newChatName: message.text.trim().slice(0, 60) || "New chat",
        size: readAspectRatio(body.size),
        signal,
      },
      "chatId",
    );
    const renderer = new CompletionRenderer(selection.requested, context.config.reasoningFormat);
    // For the estimate when upstream reports no usage; the stored history is not counted.
    renderer.promptCharacters = raw.text.length;
    return sendTurn(context, request, reply, turn, renderer, {
      stream: body.stream === true,
      includeUsage: false,
      usageInFinalChunk: true,
      extra: () => ({ chatId: turn.chatId, parentId: turn.responseId ?? null }),
    });
  });
}
