import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { QwenAspectRatio } from "../../qwen/chat-types.js";
import { type AppContext, readChatId, resolveModel } from "../app-context.js";
import { clientAbortSignal } from "../client-abort.js";
import { openAiErrorBody, toHttpError } from "../http-errors.js";
import { SseWriter } from "../sse-writer.js";
import { parseChatRequest, thinkingSwitch, toTurnMessages } from "./chat-request.js";
import { CompletionRenderer } from "./completion-renderer.js";

const PATHS = ["/v1/chat/completions", "/api/chat/completions", "/api/v1/chat/completions"];
const RATIOS = new Set(["1:1", "16:9", "9:16", "4:3", "3:4"]);

export function registerChatCompletions(app: FastifyInstance, context: AppContext): void {
  for (const url of PATHS) {
    app.post(url, (request, reply) => handle(context, request, reply));
  }
}

async function handle(context: AppContext, request: FastifyRequest, reply: FastifyReply) {
  const body = parseChatRequest(request.body);
  const chatId = readChatId(
    body.chat_id ?? request.headers["x-chat-id"],
    body.chat_id ? "chat_id" : "X-Chat-Id",
  );
  const { history, message } = toTurnMessages(body);
  const selection = await resolveModel(context, body.model, {
    thinking: thinkingSwitch(body),
    search: body.enable_search ?? undefined,
  });
  const signal = clientAbortSignal(request, reply);
  const turn = await context.conversations.startTurn({
    selection,
    message,
    clientHistory: history,
    chatId,
    newChatName: "OpenAI API Chat",
    size: body.size && RATIOS.has(body.size) ? (body.size as QwenAspectRatio) : undefined,
    signal,
  });
  const renderer = new CompletionRenderer(selection.requested, context.config.reasoningFormat);
  reply.header("x-chat-id", turn.chatId);

  if (!body.stream) {
    for await (const event of turn.events) renderer.deltas(event);
    return { ...renderer.completion(), chat_id: turn.chatId };
  }

  // Wait for upstream's first event, so a failure before it still gets a real HTTP status.
  const events = turn.events[Symbol.asyncIterator]();
  const first = await events.next();
  reply.hijack();
  const sse = new SseWriter(reply.raw, {
    keepAliveMs: context.config.keepAliveMs,
    headers: { "x-chat-id": turn.chatId, "x-request-id": String(request.id) },
  });
  const includeUsage = body.stream_options?.include_usage === true;
  try {
    await sse.send(renderer.roleChunk());
    let next = first;
    while (!next.done && !sse.closed) {
      for (const delta of renderer.deltas(next.value)) await sse.send(renderer.chunk(delta));
      next = await events.next();
    }
    if (sse.closed) return;
    await sse.send(renderer.finalChunk());
    if (includeUsage) await sse.send(renderer.usageChunk());
    await sse.send("[DONE]");
  } catch (error) {
    const httpError = toHttpError(error);
    if (httpError.status >= 500) request.log.warn({ err: error }, "stream failed after it started");
    await sse.send(openAiErrorBody(httpError));
  } finally {
    sse.end();
    await events.return?.(undefined);
  }
}
