/**
 * The script a pooled page runs for one request: `fetch` with the page's own cookies and
 * anti-bot state, status and headers reported first, then the body pushed back chunk by
 * chunk as it arrives, through a binding the transport exposed once per browser context.
 *
 * It is source text, not a function: tsx (esbuild `keepNames`) rewrites inner functions of
 * compiled code to call a `__name` helper that exists only in Node, which breaks in the page.
 */

export interface InPageFetchArgument {
  id: string;
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  bodyBase64?: string;
  credentials: "include" | "same-origin";
  referrer?: string;
  /** Name of the exposed binding: `(id, "head" | "chunk", payload) => Promise<boolean>`. */
  binding: string;
  /** Name of the page global holding one AbortController per running request. */
  registry: string;
  /** Bytes the page reads ahead while Node has not taken the previous push. */
  readAheadBytes: number;
}

export interface InPageHead {
  status: number;
  headers: [string, string][];
}

export type InPageFetchResult =
  | { ok: true; stopped?: boolean }
  | { ok: false; name: string; message: string };

const IN_PAGE_FETCH_SOURCE = `async (request) => {
  const push = window[request.binding];
  let registry = window[request.registry];
  if (!registry) {
    registry = new Map();
    Object.defineProperty(window, request.registry, { value: registry });
  }
  const controller = new AbortController();
  registry.set(request.id, controller);
  const encode = (chunks, size) => {
    let bytes = chunks[0];
    if (chunks.length > 1) {
      bytes = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.length;
      }
    }
    if (typeof bytes.toBase64 === "function") return bytes.toBase64();
    let binary = "";
    for (let index = 0; index < bytes.length; index += 0x8000) {
      binary += String.fromCharCode.apply(null, bytes.subarray(index, index + 0x8000));
    }
    return btoa(binary);
  };
  try {
    const init = {
      method: request.method,
      headers: request.headers,
      credentials: request.credentials,
      signal: controller.signal,
      cache: "no-store",
    };
    if (request.referrer) init.referrer = request.referrer;
    if (request.bodyBase64 !== undefined) {
      init.body = Uint8Array.from(atob(request.bodyBase64), (character) => character.charCodeAt(0));
    } else if (request.body !== undefined) {
      init.body = request.body;
    }
    const response = await fetch(request.url, init);
    const head = { status: response.status, headers: Array.from(response.headers) };
    if (!(await push(request.id, "head", head))) {
      controller.abort();
      return { ok: true, stopped: true };
    }
    if (!response.body) return { ok: true };
    const reader = response.body.getReader();
    // While one push is on its way to Node, later chunks gather and go together in the next.
    let pending = [];
    let pendingBytes = 0;
    let sending = null;
    let stopped = false;
    const flush = async () => {
      while (pending.length > 0 && !stopped) {
        const chunks = pending;
        const size = pendingBytes;
        pending = [];
        pendingBytes = 0;
        if (!(await push(request.id, "chunk", encode(chunks, size)))) stopped = true;
      }
    };
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pending.push(value);
      pendingBytes += value.length;
      if (!sending) {
        sending = flush().finally(() => {
          sending = null;
        });
      }
      if (pendingBytes >= request.readAheadBytes) await sending;
      if (stopped) break;
    }
    if (sending) await sending;
    if (!stopped && pending.length > 0) await flush();
    if (stopped) {
      controller.abort();
      return { ok: true, stopped: true };
    }
    return { ok: true };
  } catch (error) {
    return {
      ok: false,
      name: (error && error.name) || "Error",
      message: String((error && error.message) || error),
    };
  } finally {
    registry.delete(request.id);
  }
}`;

const IN_PAGE_ABORT_SOURCE = `(request) => {
  const registry = window[request.registry];
  const controller = registry && registry.get(request.id);
  if (controller) controller.abort();
  return Boolean(controller);
}`;

/** An expression for `page.evaluate` that runs the request and resolves when it is over. */
export function inPageFetchExpression(argument: InPageFetchArgument): string {
  return `(${IN_PAGE_FETCH_SOURCE})(${JSON.stringify(argument)})`;
}

/** An expression for `page.evaluate` that aborts one running in-page request. */
export function inPageAbortExpression(registry: string, id: string): string {
  return `(${IN_PAGE_ABORT_SOURCE})(${JSON.stringify({ registry, id })})`;
}
