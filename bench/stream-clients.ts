import { performance } from "node:perf_hooks";
import { Agent, request } from "undici";
import { resolveIdentity } from "../src/qwen/browser-identity.js";
import { buildCompletionBody } from "../src/qwen/completion-request.js";
import { buildHeaders } from "../src/qwen/headers.js";
import { buildNewChatBody, readNewChatId } from "../src/qwen/new-chat-request.js";

// The two ways the benchmark asks for the same streamed answer: straight from the fake
// upstream (create a chat, then stream the completion, as the proxy itself does) and through
// the proxy's OpenAI surface. Both read raw bytes and check the ending, so neither pays for
// parsing the other does not.

export type PathName = "direct" | "proxy";

export interface StreamResult {
  path: PathName;
  ok: boolean;
  /** Stopped by the benchmark itself (held-stream tests), not a failure. */
  abortedByUs: boolean;
  /** From the first request to the first body byte of the streamed answer, ms. */
  ttfbMs: number;
  /**
   * From the first request to the first whole event that carries answer text, ms. The proxy
   * opens its stream only once upstream has said something visible, so this, not the first
   * byte, is the point where both paths have something to show.
   */
  firstAnswerMs: number;
  /** From the first request to the end of the body, ms. */
  totalMs: number;
  bytes: number;
  error?: string;
}

export interface StreamOptions {
  signal?: AbortSignal;
  /** Called with the time to the first answer text as soon as it is known. */
  onFirstAnswer?: (firstAnswerMs: number) => void;
}

export type StreamTarget = (options?: StreamOptions) => Promise<StreamResult>;

export const benchModel = "qwen3.7-plus";
/** A non-empty `content` in either wire format (upstream's has a space after the colon). */
const answerText = /"content":\s?"[^"]/;
const benchMessage = "Benchmark: say something short.";
const requestTimeoutMs = 60_000;

/** Enough connections that the load generator never queues a request behind another. */
export function createLoadAgent(): Agent {
  return new Agent({ connections: 4_096, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
}

export function directTarget(upstreamUrl: string, token: string, agent: Agent): StreamTarget {
  const identity = resolveIdentity();
  const credentials = { token };
  return async (options = {}) => {
    // Headers and the chat body are built before the clock starts: they cost the client,
    // not the path being measured.
    const chatHeaders = buildHeaders({
      identity,
      credentials,
      baseUrl: upstreamUrl,
      refererPath: "/c/new-chat",
      accept: "json",
      hasJsonBody: true,
    });
    const chatBody = JSON.stringify(buildNewChatBody({ model: benchModel }));
    const signal = withDeadline(options.signal);
    const started = performance.now();
    try {
      const created = await request(`${upstreamUrl}/api/v2/chats/new`, {
        method: "POST",
        headers: chatHeaders,
        body: chatBody,
        dispatcher: agent,
        signal,
      });
      const chatId = readNewChatId(await created.body.json());
      if (created.statusCode !== 200 || !chatId) {
        return failure("direct", started, `chats/new answered ${created.statusCode} without a chat id`);
      }
      const body = buildCompletionBody({ chatId, model: benchModel, content: benchMessage });
      const response = await request(
        `${upstreamUrl}/api/v2/chat/completions?chat_id=${encodeURIComponent(chatId)}`,
        {
          method: "POST",
          headers: buildHeaders({
            identity,
            credentials,
            baseUrl: upstreamUrl,
            refererPath: `/c/${chatId}`,
            accept: "stream",
            hasJsonBody: true,
          }),
          body: JSON.stringify(body),
          dispatcher: agent,
          signal,
        },
      );
      // Upstream never sends [DONE]; its last event is the answer phase's "finished".
      return await readBody("direct", response, started, options, (text) =>
        /"status":\s*"finished"/.test(text.slice(-600)),
      );
    } catch (error) {
      return thrown("direct", started, error, options.signal);
    }
  };
}

export function proxyTarget(proxyUrl: string, agent: Agent): StreamTarget {
  const body = JSON.stringify({
    model: benchModel,
    stream: true,
    messages: [{ role: "user", content: benchMessage }],
  });
  return async (options = {}) => {
    const signal = withDeadline(options.signal);
    const started = performance.now();
    try {
      const response = await request(`${proxyUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body,
        dispatcher: agent,
        signal,
      });
      return await readBody(
        "proxy",
        response,
        started,
        options,
        (text) => text.endsWith("data: [DONE]\n\n") && !text.includes('data: {"error"'),
      );
    } catch (error) {
      return thrown("proxy", started, error, options.signal);
    }
  };
}

async function readBody(
  path: PathName,
  response: Awaited<ReturnType<typeof request>>,
  started: number,
  options: StreamOptions,
  complete: (text: string) => boolean,
): Promise<StreamResult> {
  let ttfbMs = Number.NaN;
  let firstAnswerMs = Number.NaN;
  const chunks: Buffer[] = [];
  let bytes = 0;
  // The body so far as latin1 (one character per byte), until the first answer is found.
  let head = "";
  for await (const chunk of response.body) {
    const buffer = chunk as Buffer;
    if (bytes === 0) ttfbMs = performance.now() - started;
    if (Number.isNaN(firstAnswerMs)) {
      head += buffer.toString("latin1");
      const answer = answerText.exec(head);
      if (answer && head.indexOf("\n\n", answer.index) !== -1) {
        firstAnswerMs = performance.now() - started;
        options.onFirstAnswer?.(firstAnswerMs);
        head = "";
      }
    }
    bytes += buffer.length;
    chunks.push(buffer);
  }
  const totalMs = performance.now() - started;
  const text = Buffer.concat(chunks).toString("utf8");
  if (response.statusCode !== 200) {
    return { ...failure(path, started, `HTTP ${response.statusCode}: ${text.slice(0, 300)}`), ttfbMs };
  }
  if (!complete(text)) {
    return { ...failure(path, started, `incomplete stream, ended with: ${text.slice(-300)}`), ttfbMs };
  }
  return { path, ok: true, abortedByUs: false, ttfbMs, firstAnswerMs, totalMs, bytes };
}

function withDeadline(signal: AbortSignal | undefined): AbortSignal {
  const deadline = AbortSignal.timeout(requestTimeoutMs);
  return signal ? AbortSignal.any([signal, deadline]) : deadline;
}

function failure(path: PathName, started: number, error: string): StreamResult {
  const elapsed = performance.now() - started;
  return {
    path,
    ok: false,
    abortedByUs: false,
    ttfbMs: Number.NaN,
    firstAnswerMs: Number.NaN,
    totalMs: elapsed,
    bytes: 0,
    error,
  };
}

function thrown(path: PathName, started: number, error: unknown, signal: AbortSignal | undefined) {
  if (signal?.aborted) return { ...failure(path, started, "aborted by the benchmark"), abortedByUs: true };
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return failure(path, started, typeof code === "string" ? `${code}: ${message}` : message);
}

/**
 * One `GET /health` through the proxy, ms: what a bare HTTP hop through fastify costs, to
 * tell apart from what the completion path adds on top.
 */
export async function healthRoundTrip(proxyUrl: string, agent: Agent): Promise<number> {
  const started = performance.now();
  const response = await request(`${proxyUrl}/health`, { dispatcher: agent });
  await response.body.text();
  return performance.now() - started;
}
