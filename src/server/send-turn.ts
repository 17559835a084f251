import type { FastifyReply, FastifyRequest } from "fastify";
import type { Turn } from "../conversation/conversation-service.js";
import type { QwenEvent } from "../events.js";
import type { AppContext } from "./app-context.js";
import { openAiErrorBody, toHttpError } from "./http-errors.js";
import type { CompletionRenderer } from "./openai/completion-renderer.js";
import { SseWriter } from "./sse-writer.js";

export interface SendTurnOptions {
  stream: boolean;
  includeUsage: boolean;
  /**
   * Usage in the last chunk (the one with `finish_reason`) instead of a chunk of its own with
   * no choices: for the native API, whose clients read `choices[0]` of every chunk.
   */
  usageInFinalChunk?: boolean;
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
  renderer.includeUsage = options.stream && options.includeUsage;
  reply.header("x-chat-id", turn.chatId);
  if (!options.stream) {
    for await (const event of turn.events) renderer.deltas(event);
    return { ...renderer.completion(), ...extra() };
  }

  const events = turn.events[Symbol.asyncIterator]();
  // Failures before anything visible still get a real HTTP status (and SDK retries).
  const opening = await awaitFirstVisible(events, context.config.keepAliveMs);
  reply.hijack();
  const sse = new SseWriter(reply.raw, {
    keepAliveMs: context.config.keepAliveMs,
    // A hijacked reply writes its own head: the headers set so far (CORS, request id) go too.
    headers: { ...headersOf(reply), "x-chat-id": turn.chatId, "x-request-id": String(request.id) },
  });
  try {
    await sse.send({ ...renderer.roleChunk(), ...extra() });
    for (const event of opening.buffered) {
      for (const delta of renderer.deltas(event)) await sse.send(renderer.chunk(delta));
    }
    let next = opening.done ? undefined : await (opening.pending ?? events.next());
    while (next && !next.done && !sse.closed) {
      for (const delta of renderer.deltas(next.value)) await sse.send(renderer.chunk(delta));
      next = await events.next();
    }
    if (sse.closed) return undefined;
    const usage = options.usageInFinalChunk ? { usage: renderer.usage() } : {};
    await sse.send({ ...renderer.finalChunk(), ...extra(), ...usage });
    if (options.includeUsage) await sse.send({ ...renderer.usageChunk(), ...extra() });
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

function headersOf(reply: FastifyReply): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value === undefined || name === "content-type" || name === "content-length") continue;
    headers[name] = typeof value === "number" ? String(value) : value;
  }
  return headers;
}

/** Events a user sees; until one arrives, a failure can still be an HTTP error status. */
const VISIBLE: ReadonlySet<QwenEvent["type"]> = new Set([
  "text-delta",
  "reasoning-delta",
  "image",
  "search-results",
  "finish",
]);

interface Opening {
  buffered: QwenEvent[];
  done: boolean;
  /** A read still running when the wait ended (slow upstream): continue with it. */
  pending?: Promise<IteratorResult<QwenEvent>>;
}

/**
 * Reads until the first visible event, the end, or `waitMs`: a slow start (a video being
 * made) must not keep the client without headers, where it cannot even get keep-alives.
 * Errors thrown while waiting propagate, before any header is sent.
 */
async function awaitFirstVisible(events: AsyncIterator<QwenEvent>, waitMs: number): Promise<Opening> {
  const buffered: QwenEvent[] = [];
  const deadline = Date.now() + waitMs;
  for (;;) {
    const pending = events.next();
    const result = await raceDeadline(pending, deadline);
    if (result === undefined) {
      // Mark it handled now; it is awaited again once the stream is open.
      pending.catch(() => {});
      return { buffered, done: false, pending };
    }
    if (result.done) return { buffered, done: true };
    buffered.push(result.value);
    if (VISIBLE.has(result.value.type)) return { buffered, done: false };
  }
}

async function raceDeadline<T>(promise: Promise<T>, deadline: number): Promise<T | undefined> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) return Promise.race([promise, Promise.resolve(undefined)]);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), remaining);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
