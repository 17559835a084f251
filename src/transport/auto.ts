import { QwenError } from "../errors.js";
import { looksLikeWafPage } from "../qwen/classify-error.js";
import type { Transport, TransportRequest, TransportResponse } from "./transport.js";

export interface AutoTransportOptions {
  direct: Transport;
  /** Made on first need: starting a browser costs seconds and memory. */
  browser: () => Promise<Transport>;
  /** How long an account stays on the browser path after the wall was met. */
  stickyMs?: number;
  now?: () => number;
  onFallback?: (reason: string) => void;
}

/** How much of a JSON answer is read to look for an anti-bot verdict. */
const SNIFF_LIMIT = 16 * 1024;

/**
 * Direct HTTP first; when the anti-bot wall answers instead of the API (an HTML challenge
 * page with status 200, an empty body, FAIL_SYS_USER_VALIDATE), the same request is replayed
 * through the logged-in browser page, and the account stays on that path for a while. The
 * wall answers before the request reaches the model, so the replay runs nothing twice.
 */
export class AutoTransport implements Transport {
  readonly kind = "auto" as const;
  readonly #options: AutoTransportOptions;
  readonly #stickyMs: number;
  readonly #now: () => number;
  #browser: Promise<Transport> | undefined;
  #browserUntil = 0;

  constructor(options: AutoTransportOptions) {
    this.#options = options;
    this.#stickyMs = options.stickyMs ?? 10 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** True while requests go through the browser. */
  get onBrowserPath(): boolean {
    return this.#now() < this.#browserUntil;
  }

  async request(request: TransportRequest): Promise<TransportResponse> {
    if (this.onBrowserPath) return (await this.#getBrowser()).request(request);
    const response = await this.#options.direct.request(request);
    const sniffed = await sniff(response, expectsBody(request));
    if (sniffed.blocked === undefined) return sniffed.response;
    response.cancel();
    return (await this.#moveToBrowser(sniffed.blocked)).request(request);
  }

  /**
   * An answer that only reading showed to be the wall's (a stream that created a reply and
   * finished it with nothing in it): later requests go through the page, once it started.
   */
  async escalate(reason: string): Promise<boolean> {
    if (this.onBrowserPath) return false;
    try {
      await this.#moveToBrowser(reason);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Only a browser that started keeps the account on its path: when none can start, the
   * account is not one a person must verify, just one the wall stopped for now.
   */
  async #moveToBrowser(reason: string): Promise<Transport> {
    this.#options.onFallback?.(reason);
    const browser = await this.#getBrowser();
    this.#browserUntil = this.#now() + this.#stickyMs;
    return browser;
  }

  async close(): Promise<void> {
    const browser = this.#browser;
    this.#browser = undefined;
    await Promise.all([
      this.#options.direct.close(),
      browser?.then(
        (transport) => transport.close(),
        () => {},
      ),
    ]);
  }

  #getBrowser(): Promise<Transport> {
    this.#browser ??= this.#options.browser().catch((error: unknown) => {
      this.#browser = undefined;
      // The wall stays in the way, and the user must learn why the way around it is shut.
      const reason = error instanceof Error ? error.message : String(error);
      throw new QwenError(
        "waf_challenge",
        `The anti-bot wall answered and the browser path is unavailable: ${reason}`,
        {
          cause: error,
        },
      );
    });
    return this.#browser;
  }
}

interface Sniffed {
  /** Why the answer is the wall, or undefined when it is the API. */
  blocked: string | undefined;
  /** The response again, with the bytes read while sniffing put back in front. */
  response: TransportResponse;
}

/**
 * Calls whose answer always has a body (a new chat's id, a reply): for them an empty 200 is
 * the wall. Others (a parse request, a deletion) may answer 200 with nothing in it.
 */
function expectsBody(request: TransportRequest): boolean {
  const path = new URL(request.url).pathname;
  return /\/api\/v2\/(chats\/new|chat\/completions)$/.test(path);
}

/** Reads just enough of the answer to tell the wall from the API. */
async function sniff(response: TransportResponse, bodyExpected: boolean): Promise<Sniffed> {
  const iterator = response.body[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  let ended = false;
  for (;;) {
    const visible = text.trimStart();
    if (visible.startsWith("<")) break;
    if (visible !== "" && !visible.startsWith("{")) break;
    if (visible.startsWith("{") && (bytes >= SNIFF_LIMIT || isCompleteJson(visible))) break;
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    bytes += next.value.byteLength;
    text += decoder.decode(next.value, { stream: true });
  }
  const visible = text.trimStart();
  const blocked =
    response.status === 200 && ended && visible === "" && bodyExpected
      ? "upstream answered with an empty body"
      : visible.startsWith("<") &&
          (response.status === 200 || looksLikeWafPage(visible.slice(0, SNIFF_LIMIT)))
        ? "upstream answered with an anti-bot page"
        : /FAIL_SYS_USER_VALIDATE|RGV587/.test(visible.slice(0, SNIFF_LIMIT))
          ? "upstream asked for a human verification"
          : undefined;
  const rest = { [Symbol.asyncIterator]: () => iterator };
  return {
    blocked,
    response: {
      ...response,
      body: (async function* () {
        yield* head;
        if (!ended) yield* rest;
      })(),
    },
  };
}

function isCompleteJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
