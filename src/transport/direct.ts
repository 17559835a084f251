import { pipeline, type Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { Agent, request as undiciRequest } from "undici";
import { QwenError } from "../errors.js";
import type { Transport, TransportRequest, TransportResponse } from "./transport.js";

export interface DirectTransportOptions {
  /** Connections kept per origin; one agent (and so one pool per origin) per account. */
  connections?: number;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Receives every answer's `Set-Cookie` lines (an account's cookie jar keeps them). */
  onSetCookie?: (lines: string[]) => void;
}

const DEFAULT_HEADERS_TIMEOUT_MS = 60_000;
const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/** Plain HTTP to upstream on undici. One instance per account keeps its connections apart. */
export class DirectTransport implements Transport {
  readonly kind = "direct" as const;
  readonly #agent: Agent;
  readonly #headersTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #onSetCookie: DirectTransportOptions["onSetCookie"];

  constructor(options: DirectTransportOptions = {}) {
    this.#onSetCookie = options.onSetCookie;
    this.#headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#agent = new Agent({
      connections: options.connections ?? 16,
      keepAliveTimeout: 30_000,
      connect: { timeout: options.connectTimeoutMs ?? 15_000 },
    });
  }

  async request(request: TransportRequest): Promise<TransportResponse> {
    const { signal } = request;
    if (signal?.aborted) throw abortedError(signal);
    let response: Awaited<ReturnType<typeof undiciRequest>>;
    try {
      response = await undiciRequest(request.url, {
        dispatcher: this.#agent,
        method: request.method,
        headers: request.headers,
        body: request.body ?? null,
        signal: signal ?? null,
        headersTimeout: request.headersTimeoutMs ?? this.#headersTimeoutMs,
        bodyTimeout: request.idleTimeoutMs ?? this.#idleTimeoutMs,
      });
    } catch (error) {
      throw toTransportError(error, signal);
    }
    const setCookie = response.headers["set-cookie"];
    if (setCookie && this.#onSetCookie) this.#onSetCookie(Array.isArray(setCookie) ? setCookie : [setCookie]);
    const headers = flattenHeaders(response.headers);
    const decoded = decompress(response.body, headers["content-encoding"]);
    // Cancelling an unread body makes undici emit an abort error; with no listener that would
    // crash the process. Readers still see errors through iteration.
    response.body.on("error", () => {});
    decoded.on("error", () => {});
    return {
      status: response.statusCode,
      headers,
      body: mapBodyErrors(decoded, signal),
      cancel: () => {
        if (!decoded.destroyed) decoded.destroy();
        if (!response.body.destroyed) response.body.destroy();
      },
    };
  }

  async close(): Promise<void> {
    await this.#agent.destroy();
  }
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

function decompress(body: Readable, encoding: string | undefined): Readable {
  const normalised = encoding?.trim().toLowerCase();
  const decoder =
    normalised === "gzip" || normalised === "x-gzip"
      ? createGunzip()
      : normalised === "deflate"
        ? createInflate()
        : normalised === "br"
          ? createBrotliDecompress()
          : undefined;
  if (!decoder) return body;
  // pipeline forwards an error on either side to the other, so iteration sees it.
  pipeline(body, decoder, () => {});
  return decoder;
}

async function* mapBodyErrors(body: Readable, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk as Uint8Array;
  } catch (error) {
    throw toTransportError(error, signal);
  } finally {
    if (!body.destroyed) body.destroy();
  }
}

function abortedError(signal: AbortSignal): QwenError {
  return new QwenError("aborted", "The request was aborted", { cause: signal.reason });
}

const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT"]);

export function toTransportError(error: unknown, signal?: AbortSignal): QwenError {
  if (error instanceof QwenError) return error;
  if (signal?.aborted) return abortedError(signal);
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === "string" && TIMEOUT_CODES.has(code)) {
    return new QwenError("timeout", `Upstream timed out (${code})`, { cause: error });
  }
  if (error instanceof Error && error.name === "AbortError") {
    return new QwenError("aborted", "The request was aborted", { cause: error });
  }
  return new QwenError("network_error", `Could not reach upstream: ${message}`, { cause: error });
}
