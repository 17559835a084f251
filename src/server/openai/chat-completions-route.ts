import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { readAspectRatio } from "../../qwen/chat-types.js";
import {
  type AppContext,
  ingestAttachments,
  readChatId,
  resolveModel,
  startTurnFor,
} from "../app-context.js";
import { clientAbortSignal } from "../client-abort.js";
import { sendTurn } from "../send-turn.js";
import {
  answerFormat,
  outputLimits,
  parseChatRequest,
  thinkingSwitch,
  toTurnMessages,
} from "./chat-request.js";
import { CompletionRenderer } from "./completion-renderer.js";

/** The original's paths, OpenAI's, and the bare one for clients whose base URL is the host. */
const PATHS = [
  "/v1/chat/completions",
  "/api/chat/completions",
  "/api/v1/chat/completions",
  "/chat/completions",
];

export function registerChatCompletions(app: FastifyInstance, context: AppContext): void {
  for (const url of PATHS) {
    app.post(url, (request, reply) => handle(context, request, reply));
  }
}

async function handle(context: AppContext, request: FastifyRequest, reply: FastifyReply) {
  const body = parseChatRequest(request.body);
  // `chat_id`, or `chatId` as the original's clients send it, or the X-Chat-Id header.
  const chatIdParam = body.chat_id ? "chat_id" : body.chatId ? "chatId" : "X-Chat-Id";
  const chatId = readChatId(body.chat_id ?? body.chatId ?? request.headers["x-chat-id"], chatIdParam);
  const { history, message: raw, attachmentParams } = toTurnMessages(body);
  const selection = await resolveModel(context, body.model, {
    thinking: thinkingSwitch(body),
    search: body.enable_search ?? undefined,
  });
  const signal = clientAbortSignal(request, reply);
  const message = await ingestAttachments(context, raw, attachmentParams, signal);
  const turn = await startTurnFor(
    context,
    {
      selection,
      message,
      // With a chat id and only the new message, the stored chat is the context.
      clientHistory: chatId && history.every((item) => item.role === "system") ? undefined : history,
      system: history.filter((item) => item.role === "system").map((item) => item.text),
      chatId,
      newChatName: "OpenAI API Chat",
      size: readAspectRatio(body.size),
      limits: outputLimits(body),
      answerFormat: answerFormat(body),
      signal,
    },
    chatIdParam,
  );
  const renderer = new CompletionRenderer(selection.requested, context.config.reasoningFormat);
  renderer.promptCharacters = [...history, raw].reduce((sum, item) => sum + item.text.length, 0);
  return sendTurn(context, request, reply, turn, renderer, {
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    extra: body.stream ? undefined : () => ({ chat_id: turn.chatId }),
  });
}
