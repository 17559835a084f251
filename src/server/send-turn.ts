import type { FastifyReply, FastifyRequest } from "fastify";
import type { Turn } from "../conversation/conversation-service.js";
import type { AppContext } from "./app-context.js";
import { openAiErrorBody, toHttpError } from "./http-errors.js";
import type { CompletionRenderer } from "./openai/completion-renderer.js";
import { SseWriter } from "./sse-writer.js";

export interface SendTurnOptions {
  stream: boolean;
  includeUsage: boolean;
  /** Fields added to the JSON answer, and to the first and last chunk of a stream. */
  extra?: () => Record<string, unknown>;
}

/**
 * Runs a turn and answers with OpenAI-shaped JSON or SSE chunks. A stream opens only when
 * upstream's first event arrived, so failures before it still get a real HTTP status; after
 * that, errors travel as `data: {"error": …}` before the stream closes.
 */
export async function sendTurn(
  context: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  turn: Turn,
  renderer: CompletionRenderer,
  options: SendTurnOptions,
): Promise<unknown> {
  const extra = options.extra ?? (() => ({}));
  reply.header("x-chat-id", turn.chatId);
  if (!options.stream) {
    for await (const event of turn.events) renderer.deltas(event);
    return { ...renderer.completion(), ...extra() };
  }

  const events = turn.events[Symbol.asyncIterator]();
  const first = await events.next();
  reply.hijack();
  const sse = new SseWriter(reply.raw, {
    keepAliveMs: context.config.keepAliveMs,
    headers: { "x-chat-id": turn.chatId, "x-request-id": String(request.id) },
  });
  try {
    await sse.send({ ...renderer.roleChunk(), ...extra() });
    let next = first;
    while (!next.done && !sse.closed) {
      for (const delta of renderer.deltas(next.value)) await sse.send(renderer.chunk(delta));
      next = await events.next();
    }
    if (sse.closed) return undefined;
    await sse.send({ ...renderer.finalChunk(), ...extra() });
    if (options.includeUsage) await sse.send(renderer.usageChunk());
    await sse.send("[DONE]");
  } catch (error) {
    const httpError = toHttpError(error);
    if (httpError.status >= 500) request.log.warn({ err: error }, "stream failed after it started");
    await sse.send(openAiErrorBody(httpError));
  } finally {
    sse.end();
    await events.return?.(undefined);
  }
  return undefined;
}
