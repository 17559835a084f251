import { randomBytes } from "node:crypto";
import type { BrowserContext, Page } from "playwright-core";
import type { PageLease } from "../browser/page-pool.js";
import { QwenError } from "../errors.js";
import { ChunkQueue } from "./chunk-queue.js";
import { toTransportError } from "./direct.js";
import {
  type InPageFetchArgument,
  type InPageFetchResult,
  type InPageHead,
  inPageAbortExpression,
  inPageFetchExpression,
} from "./in-page-fetch.js";
import type { Transport, TransportRequest, TransportResponse } from "./transport.js";

/** Where requests run: pages on the upstream origin (a `PagePool`). */
export interface PageSource {
  withPage<T>(fn: (page: Page, lease: PageLease) => Promise<T>): Promise<T>;
}

export interface BrowserTransportOptions {
  pages: PageSource;
  headersTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Bytes buffered in Node per stream before the page is asked to wait. */
  highWaterMarkBytes?: number;
  /** Called by `close()`, e.g. to close the browser the pages belong to. */
  onClose?: () => Promise<void>;
}

const DEFAULT_HEADERS_TIMEOUT_MS = 60_000;
const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
const DEFAULT_HIGH_WATER_MARK_BYTES = 64 * 1024;

/**
 * Headers the page supplies itself (cookies, user agent, origin, client hints) or that
 * `fetch` forbids. The page's own values match its real browser; ours would not.
 */
const PAGE_OWNED_HEADERS = new Set([
  "cookie",
  "cookie2",
  "user-agent",
  "origin",
  "referer",
  "host",
  "content-length",
  "accept-encoding",
  "accept-charset",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "expect",
  "date",
  "dnt",
  "via",
  "access-control-request-headers",
  "access-control-request-method",
]);

/** The browser decodes the body, so its encoding and length headers no longer describe it. */
const STALE_RESPONSE_HEADERS = new Set(["content-encoding", "content-length"]);

/**
 * Requests made by `fetch` inside a logged-in page, for when upstream's anti-bot wall turns
 * plain HTTP away (protocol notes §2.5, §8 pitfall 7): the page's cookies, scripts and TLS
 * are a real browser's. The body streams back to Node as it arrives. One binding per browser
 * context carries every request's chunks; nothing is opened per request.
 */
export class BrowserTransport implements Transport {
  readonly kind = "browser" as const;
  readonly #pages: PageSource;
  readonly #headersTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #highWaterMarkBytes: number;
  readonly #onClose: (() => Promise<void>) | undefined;
  /** Unique per transport, so two transports on one context never share a binding. */
  readonly #bindingName: string;
  readonly #registryName: string;
  readonly #bindings = new WeakMap<BrowserContext, Promise<void>>();
  readonly #streams = new Map<string, InPageStream>();
  #nextId = 0;
  #closed = false;

  constructor(options: BrowserTransportOptions) {
    this.#pages = options.pages;
    this.#headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#highWaterMarkBytes = options.highWaterMarkBytes ?? DEFAULT_HIGH_WATER_MARK_BYTES;
    this.#onClose = options.onClose;
    const suffix = randomBytes(4).toString("hex");
    this.#bindingName = `__fqaPush_${suffix}`;
    this.#registryName = `__fqaRequests_${suffix}`;
  }

  /** Streams running now, neither over nor stopped (for tests and status). */
  get activeStreams(): number {
    return this.#streams.size;
  }

  async request(request: TransportRequest): Promise<TransportResponse> {
    const { signal } = request;
    if (signal?.aborted) throw abortedError(signal.reason);
    if (this.#closed) throw new QwenError("network_error", "The browser transport is closed");
    try {
      return await this.#pages.withPage((page, lease) => this.#start(page, lease, request));
    } catch (error) {
      throw toTransportError(error, signal);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const stream of this.#streams.values()) {
      stream.stop(new QwenError("network_error", "The browser transport was closed"));
    }
    await this.#onClose?.();
  }

  async #start(page: Page, lease: PageLease, request: TransportRequest): Promise<TransportResponse> {
    await this.#ensureBinding(page.context());
    const id = String(++this.#nextId);
    const argument = this.#argument(id, page, request);
    const stream = new InPageStream({
      id,
      highWaterMarkBytes: this.#highWaterMarkBytes,
      idleTimeoutMs: request.idleTimeoutMs ?? this.#idleTimeoutMs,
      abortInPage: () => {
        page.evaluate(inPageAbortExpression(this.#registryName, id)).catch(() => {});
      },
      // Once stopped or over, pushes still on their way find no stream and stop the page.
      onDone: () => this.#streams.delete(id),
    });
    this.#streams.set(id, stream);

    const { signal } = request;
    const onAbort = () => stream.stop(abortedError(signal?.reason));
    signal?.addEventListener("abort", onAbort, { once: true });
    stream.settled.finally(() => signal?.removeEventListener("abort", onAbort)).catch(() => {});

    const headersTimeoutMs = request.headersTimeoutMs ?? this.#headersTimeoutMs;
    const headersTimer = setTimeout(
      () =>
        stream.stop(
          new QwenError("timeout", `Upstream sent no response headers within ${headersTimeoutMs} ms`),
        ),
      headersTimeoutMs,
    );
    stream.head.finally(() => clearTimeout(headersTimer)).catch(() => {});

    const evaluation = page.evaluate(inPageFetchExpression(argument)) as Promise<InPageFetchResult>;
    evaluation.then(
      (result) => stream.finish(result),
      (error: unknown) => stream.finish(error),
    );

    const head = await stream.head;
    // The stream outlives this call: the page stays counted busy until it is over.
    const release = lease.extend();
    stream.settled.then(release, release);
    return {
      status: head.status,
      headers: responseHeaders(head.headers),
      body: stream.body(),
      cancel: () => stream.stop(),
    };
  }

  #argument(id: string, page: Page, request: TransportRequest): InPageFetchArgument {
    const headers: Record<string, string> = {};
    let referrer: string | undefined;
    for (const [rawName, value] of Object.entries(request.headers)) {
      const name = rawName.toLowerCase();
      if (name === "referer") referrer = value;
      if (PAGE_OWNED_HEADERS.has(name) || name.startsWith("sec-") || name.startsWith("proxy-")) continue;
      headers[name] = value;
    }
    const pageOrigin = new URL(page.url()).origin;
    const sameOrigin = new URL(request.url).origin === pageOrigin;
    const argument: InPageFetchArgument = {
      id,
      url: request.url,
      method: request.method,
      headers,
      // Cookies ride along on same-origin requests; a cross-origin one (an upload to object
      // storage) goes without them, as the web app's own would, since `include` would fail
      // its CORS check against a wildcard Access-Control-Allow-Origin.
      credentials: sameOrigin ? "include" : "same-origin",
      binding: this.#bindingName,
      registry: this.#registryName,
      readAheadBytes: this.#highWaterMarkBytes,
    };
    // `fetch` takes a same-origin referrer as an option, which keeps the `/c/<chat id>` path
    // the web app would send.
    if (referrer && sameOrigin && safeOrigin(referrer) === pageOrigin) argument.referrer = referrer;
    const { body } = request;
    if (typeof body === "string") argument.body = body;
    else if (body !== undefined) argument.bodyBase64 = Buffer.from(body).toString("base64");
    return argument;
  }

  /** One binding per browser context, shared by every page and request in it. */
  #ensureBinding(context: BrowserContext): Promise<void> {
    let registration = this.#bindings.get(context);
    if (!registration) {
      registration = context
        .exposeBinding(this.#bindingName, (_source: unknown, id: string, kind: string, payload: unknown) =>
          this.#onPush(id, kind, payload),
        )
        .then(() => undefined);
      registration.catch(() => this.#bindings.delete(context));
      this.#bindings.set(context, registration);
    }
    return registration;
  }

  /** What the page pushed. False tells it to stop reading (the stream was cancelled). */
  #onPush(id: string, kind: string, payload: unknown): boolean | Promise<boolean> {
    const stream = this.#streams.get(id);
    if (!stream) return false;
    if (kind === "head") return stream.receiveHead(payload as InPageHead);
    if (kind === "chunk" && typeof payload === "string") return stream.receiveChunk(payload);
    return false;
  }
}

interface InPageStreamOptions {
  id: string;
  highWaterMarkBytes: number;
  idleTimeoutMs: number;
  abortInPage: () => void;
  onDone: () => void;
}

/** Node's side of one in-page request: its head, its queued body, its timers and its end. */
class InPageStream {
  readonly head: Promise<InPageHead>;
  /** Settles once the page's script has returned (or the page is gone). */
  readonly settled: Promise<void>;
  readonly #options: InPageStreamOptions;
  readonly #queue: ChunkQueue;
  #resolveHead!: (head: InPageHead) => void;
  #rejectHead!: (error: unknown) => void;
  #resolveSettled!: () => void;
  #headReceived = false;
  #stopped = false;
  /** Why we stopped it, if we did; it outranks whatever the page reports afterwards. */
  #stopReason: QwenError | undefined;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(options: InPageStreamOptions) {
    this.#options = options;
    this.#queue = new ChunkQueue(options.highWaterMarkBytes);
    this.head = new Promise((resolve, reject) => {
      this.#resolveHead = resolve;
      this.#rejectHead = reject;
    });
    this.head.catch(() => {});
    this.settled = new Promise((resolve) => {
      this.#resolveSettled = resolve;
    });
  }

  receiveHead(head: InPageHead): boolean {
    if (this.#stopped) return false;
    this.#headReceived = true;
    this.#resolveHead(head);
    this.#armIdleTimer();
    return true;
  }

  async receiveChunk(base64: string): Promise<boolean> {
    if (this.#stopped) return false;
    clearTimeout(this.#idleTimer);
    // Waits while the consumer is behind: the page reads no further meanwhile.
    await this.#queue.push(Buffer.from(base64, "base64"));
    if (this.#stopped) return false;
    this.#armIdleTimer();
    return true;
  }

  /** The page's script returned, or its evaluation failed (page closed, crashed, navigated). */
  finish(outcome: InPageFetchResult | unknown): void {
    clearTimeout(this.#idleTimer);
    const error = this.#stopReason ?? outcomeError(outcome, this.#headReceived);
    if (error === undefined) {
      // A page that returned before reporting a head was stopped by us; that case has a reason.
      this.#queue.end();
      this.#rejectHead(new QwenError("network_error", "The in-page request ended without a response"));
    } else {
      this.#queue.fail(error);
      this.#rejectHead(error);
    }
    this.#stopped = true;
    this.#options.onDone();
    this.#resolveSettled();
  }

  /** Stops the request: `reason` for a failure, none for a cancel. Aborts the page's fetch. */
  stop(reason?: QwenError): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#idleTimer);
    this.#stopReason = reason;
    if (reason) {
      this.#queue.fail(reason);
      this.#rejectHead(reason);
    } else {
      this.#queue.end();
      this.#rejectHead(new QwenError("aborted", "The request was cancelled"));
    }
    this.#options.onDone();
    this.#options.abortInPage();
  }

  async *body(): AsyncGenerator<Uint8Array> {
    try {
      yield* this.#queue;
    } finally {
      // Leaving early (break, error in the consumer) cancels; after the end this is a no-op.
      this.stop();
    }
  }

  #armIdleTimer(): void {
    clearTimeout(this.#idleTimer);
    const idleTimeoutMs = this.#options.idleTimeoutMs;
    this.#idleTimer = setTimeout(
      () => this.stop(new QwenError("timeout", `Upstream stream was silent for ${idleTimeoutMs} ms`)),
      idleTimeoutMs,
    );
  }
}

/** The error an ended evaluation stands for; undefined for a clean end. */
function outcomeError(outcome: InPageFetchResult | unknown, headReceived: boolean): unknown {
  if (outcome && typeof outcome === "object" && "ok" in outcome) {
    const result = outcome as InPageFetchResult;
    if (result.ok) return undefined;
    return new QwenError(
      "network_error",
      `Could not reach upstream from the browser page: ${result.name}: ${result.message}`,
    );
  }
  // The evaluation itself failed: the page closed, crashed or navigated away. Before the head
  // the raw error goes up so the page pool can retry on a fresh page; after it, it is final.
  if (!headReceived) return outcome;
  const message = outcome instanceof Error ? outcome.message.split("\n")[0] : String(outcome);
  return new QwenError("network_error", `The browser page went away mid-stream: ${message}`, {
    cause: outcome,
  });
}

function responseHeaders(entries: [string, string][]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (STALE_RESPONSE_HEADERS.has(lower)) continue;
    headers[lower] = value;
  }
  return headers;
}

function abortedError(reason: unknown): QwenError {
  return new QwenError("aborted", "The request was aborted", { cause: reason });
}

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
