import { TextDecoder } from "node:util";
import { QwenError } from "../errors.js";
import type { QwenEvent } from "../events.js";
import type { TransportResponse } from "../transport/transport.js";
import { classifyHttpFailure, tryParseJson } from "./classify-error.js";
import { eventsFromJsonBody } from "./json-completion.js";
import { readBodyText } from "./read-body-text.js";
import { SseLineReader } from "./sse-lines.js";
import { QwenStreamParser } from "./stream-parser.js";

/** How much of a non-stream body is read before giving up on it. */
const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;
/** How long the end of a finished answer is waited for before the connection is cut. */
const RELEASE_WAIT_MS = 2_000;

/**
 * Reads a completion response into internal events, whatever upstream chose to send: SSE,
 * one JSON document, an HTML challenge page, or nothing. The body is sniffed rather than
 * trusted by its Content-Type, which upstream gets wrong. Stopping the iteration early
 * releases the connection, which aborts the upstream request.
 */
export async function* readCompletion(response: TransportResponse): AsyncGenerator<QwenEvent> {
  const finished = { rest: undefined as AsyncIterator<Uint8Array> | undefined };
  try {
    const hidden = Number.parseInt(response.headers["x-actual-status-code"] ?? "", 10);
    if (response.status < 200 || response.status >= 300 || hidden >= 400) {
      const text = (await readBodyText(response.body, MAX_ERROR_BYTES)).text;
      throw classifyHttpFailure(response.status, response.headers, text);
    }
    yield* readSuccessfulBody(response, finished);
  } finally {
    if (finished.rest) void releaseAfterEnd(finished.rest, response);
    else response.cancel();
  }
}

/**
 * After the answer's `finished` event upstream closes the response by itself (it sends no
 * [DONE]); reading that last bit keeps the connection for the next request instead of
 * cutting it, which would cost a new TLS handshake.
 */
async function releaseAfterEnd(rest: AsyncIterator<Uint8Array>, response: TransportResponse): Promise<void> {
  const deadline = Date.now() + RELEASE_WAIT_MS;
  let bytes = 0;
  try {
    while (Date.now() < deadline && bytes < MAX_ERROR_BYTES) {
      const next = await Promise.race([
        rest.next(),
        new Promise<undefined>((resolve) => {
          setTimeout(() => resolve(undefined), Math.max(1, deadline - Date.now())).unref();
        }),
      ]);
      if (next === undefined || next.done) {
        if (next?.done) return;
        break;
      }
      bytes += next.value.byteLength;
    }
  } catch {
    // The connection went anyway; nothing to keep.
  }
  response.cancel();
}

async function* readSuccessfulBody(
  response: TransportResponse,
  finished: { rest: AsyncIterator<Uint8Array> | undefined },
): AsyncGenerator<QwenEvent> {
  const decoder = new TextDecoder("utf-8");
  const iterator = response.body[Symbol.asyncIterator]();
  let head = "";
  // Read until the first visible character says what kind of body this is.
  while (head.trim() === "") {
    const next = await iterator.next();
    if (next.done) {
      head += decoder.decode();
      if (head.trim() === "") {
        throw new QwenError("empty_response", "Upstream answered with an empty body", {
          upstreamStatus: response.status,
        });
      }
      break;
    }
    head += decoder.decode(next.value, { stream: true });
  }
  const rest = { [Symbol.asyncIterator]: () => iterator };
  const first = head.trimStart()[0];

  if (first === "{" || first === "[") {
    const text = head + (await readBodyText(rest, MAX_DOCUMENT_BYTES, decoder)).text;
    const json = tryParseJson(text);
    if (json !== undefined) {
      yield* eventsFromJsonBody(json);
      return;
    }
    // Not one JSON document: probably JSON lines without the `data:` prefix; read as SSE.
    yield* readEventStream(text, emptyStream(), decoder);
    return;
  }
  if (first === "<") {
    const text = head + (await readBodyText(rest, MAX_ERROR_BYTES, decoder)).text;
    throw classifyHttpFailure(response.status, response.headers, text);
  }
  yield* readEventStream(head, rest, decoder, finished);
}

async function* readEventStream(
  head: string,
  rest: AsyncIterable<Uint8Array>,
  decoder: TextDecoder,
  finished?: { rest: AsyncIterator<Uint8Array> | undefined },
): AsyncGenerator<QwenEvent> {
  const parser = new QwenStreamParser();
  const lines = new SseLineReader();
  const chunks = rest[Symbol.asyncIterator]();
  const push = function* (payloads: string[]): Generator<QwenEvent> {
    for (const payload of payloads) {
      if (parser.finished) return;
      const events = parser.push(payload);
      // Handed over before the finish event goes out, in case the reader stops right after it.
      if (parser.finished && finished) finished.rest = chunks;
      yield* events;
    }
  };

  yield* push(lines.feed(head));
  while (!parser.finished) {
    let next: IteratorResult<Uint8Array>;
    try {
      next = await chunks.next();
    } catch (error) {
      throw interrupted(error, parser);
    }
    if (next.done) break;
    yield* push(lines.feed(decoder.decode(next.value, { stream: true })));
  }
  if (parser.finished) return;
  yield* push(lines.feed(decoder.decode()));
  yield* push(lines.end());
  yield* parser.end();
}

/** A read failure after the reply began means the answer is cut, not that upstream is down. */
function interrupted(error: unknown, parser: QwenStreamParser): unknown {
  if (error instanceof QwenError && error.code === "aborted") return error;
  if (!parser.answerSeen && !parser.responseId) {
    return error instanceof QwenError
      ? error
      : new QwenError("network_error", "Upstream closed the connection", { cause: error });
  }
  return new QwenError("incomplete_response", "Upstream closed the stream before the answer was finished", {
    cause: error,
  });
}

async function* emptyStream(): AsyncGenerator<Uint8Array> {}
