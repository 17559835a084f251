import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHROMIUM_PATH,
  hasChromium,
  makeTemporaryDirectory,
  readTimed,
  STREAM_TEXT,
  startTestUpstream,
  type TestUpstream,
} from "../../testing/browser-harness.js";
import { AccountBrowser } from "../browser/account-browser.js";
import { QwenError } from "../errors.js";
import { BrowserTransport } from "./browser.js";
import type { TransportRequest } from "./transport.js";

const USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) FreeQwenApiTest/1.0";

describe.skipIf(!hasChromium)("BrowserTransport in a real Chromium", () => {
  let upstream: TestUpstream;
  let browser: AccountBrowser;
  let transport: BrowserTransport;
  const dataDir = makeTemporaryDirectory("fqa-transport-");

  const get = (
    path: string,
    extra: Partial<TransportRequest> = {},
  ): Promise<Awaited<ReturnType<BrowserTransport["request"]>>> =>
    transport.request({ method: "GET", url: `${upstream.url}${path}`, headers: {}, ...extra });

  beforeAll(async () => {
    upstream = await startTestUpstream();
    browser = new AccountBrowser({
      accountId: "acct_transport",
      dataDir: dataDir.path,
      baseUrl: upstream.url,
      headless: true,
      chromiumPath: CHROMIUM_PATH,
      userAgent: USER_AGENT,
      poolSize: 2,
    });
    transport = new BrowserTransport({ pages: browser.pool, onClose: () => browser.close() });
    await browser.start();
  });

  afterAll(async () => {
    await transport?.close();
    await upstream?.close();
    dataDir.remove();
  });

  it("yields the first chunk before upstream has written the last, and reassembles split UTF-8", async () => {
    const response = await get("/stream?id=timing&delay=200");
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("text/event-stream");
    const { text, arrivals } = await readTimed(response.body);
    const writes = upstream.streams.get("timing")?.writes ?? [];
    expect(text).toBe(STREAM_TEXT);
    expect(writes).toHaveLength(5);
    expect(arrivals.length).toBeGreaterThanOrEqual(4);
    // Arrived while upstream was still 800 ms away from its last write: streamed, not buffered.
    expect(arrivals[0]).toBeLessThan(writes[4] ?? 0);
    expect(arrivals[1]).toBeLessThan(writes[4] ?? 0);
  });

  it("aborting the signal mid-stream stops the in-page fetch and closes the upstream socket", async () => {
    const controller = new AbortController();
    const response = await get("/stream?id=abort&delay=150&repeat=6", { signal: controller.signal });
    const iterator = response.body[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    controller.abort();
    const failure = await iterator.next().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(QwenError);
    expect((failure as QwenError).code).toBe("aborted");
    const record = upstream.streams.get("abort");
    await record?.closed;
    expect(record?.closedEarly).toBe(true);
    expect(record?.writes.length).toBeLessThan(10);
  });

  it("cancel() and an early break end the body and close the upstream socket", async () => {
    const cancelled = await get("/stream?id=cancel&delay=150&repeat=6");
    const iterator = cancelled.body[Symbol.asyncIterator]();
    await iterator.next();
    cancelled.cancel();
    cancelled.cancel();
    expect((await iterator.next()).done).toBe(true);
    await upstream.streams.get("cancel")?.closed;
    expect(upstream.streams.get("cancel")?.closedEarly).toBe(true);

    const broken = await get("/stream?id=break&delay=150&repeat=6");
    for await (const _chunk of broken.body) break;
    await upstream.streams.get("break")?.closed;
    expect(upstream.streams.get("break")?.closedEarly).toBe(true);
    expect(transport.activeStreams).toBe(0);
  });

  it("sends our headers but lets the page supply cookies, user agent, origin and client hints", async () => {
    await get("/set-cookie");
    const response = await transport.request({
      method: "POST",
      url: `${upstream.url}/echo`,
      headers: {
        authorization: "Bearer token-123",
        "content-type": "application/json",
        "x-request-id": "request-1",
        Cookie: "forged=1",
        "user-agent": "undici",
        origin: "https://evil.example",
        referer: `${upstream.url}/c/chat-42`,
        "accept-encoding": "identity",
        "sec-fetch-site": "cross-site",
        "sec-ch-ua-platform": '"Plan9"',
      },
      body: JSON.stringify({ hello: "wörld" }),
    });
    const { text } = await readTimed(response.body);
    const echoed = JSON.parse(text) as {
      method: string;
      headers: Record<string, string>;
      bodyBase64: string;
    };
    expect(echoed.method).toBe("POST");
    expect(echoed.headers.authorization).toBe("Bearer token-123");
    expect(echoed.headers["x-request-id"]).toBe("request-1");
    expect(echoed.headers["user-agent"]).toBe(USER_AGENT);
    expect(echoed.headers.origin).toBe(upstream.url);
    expect(echoed.headers.referer).toBe(`${upstream.url}/c/chat-42`);
    expect(echoed.headers.cookie).toContain("session=granted");
    expect(echoed.headers.cookie).not.toContain("forged");
    expect(echoed.headers["sec-fetch-site"]).toBe("same-origin");
    expect(echoed.headers["sec-ch-ua-platform"]).not.toBe('"Plan9"');
    expect(Buffer.from(echoed.bodyBase64, "base64").toString("utf8")).toBe('{"hello":"wörld"}');
    expect(response.headers["x-echo"]).toBe("yes");
  });

  it("carries binary bodies, the page's cookies, and decoded bodies without their encoding header", async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, index) => index);
    const echo = await transport.request({
      method: "PUT",
      url: `${upstream.url}/echo`,
      headers: {},
      body: bytes,
    });
    const echoed = JSON.parse((await readTimed(echo.body)).text) as { bodyBase64: string };
    expect(Buffer.from(echoed.bodyBase64, "base64").equals(Buffer.from(bytes))).toBe(true);

    await readTimed((await get("/set-cookie")).body);
    const guarded = await get("/needs-cookie");
    expect(guarded.status).toBe(200);
    expect((await readTimed(guarded.body)).text).toBe("welcome");

    const gzip = await get("/gzip");
    expect(gzip.headers["content-encoding"]).toBeUndefined();
    expect((await readTimed(gzip.body)).text).toBe("squeezed text");
  });

  it("maps failures: headers timeout, idle timeout, unreachable host, aborts", async () => {
    const headersTimeout = await get("/hang", { headersTimeoutMs: 300 }).catch((error: unknown) => error);
    expect((headersTimeout as QwenError).code).toBe("timeout");

    const silent = await get("/silent", { idleTimeoutMs: 300 });
    const iterator = silent.body[Symbol.asyncIterator]();
    expect(Buffer.from((await iterator.next()).value ?? []).toString()).toBe("data: one\n\n");
    const idle = await iterator.next().catch((error: unknown) => error);
    expect((idle as QwenError).code).toBe("timeout");

    const unreachable = await transport
      .request({ method: "GET", url: "http://127.0.0.1:1/nothing", headers: {} })
      .catch((error: unknown) => error);
    expect((unreachable as QwenError).code).toBe("network_error");

    const already = await get("/echo", { signal: AbortSignal.abort() }).catch((error: unknown) => error);
    expect((already as QwenError).code).toBe("aborted");

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const beforeHead = await get("/hang", { signal: controller.signal }).catch((error: unknown) => error);
    expect((beforeHead as QwenError).code).toBe("aborted");
    expect(transport.activeStreams).toBe(0);
  });

  it("replaces a page closed under the pool, and retries a request whose page died before answering", async () => {
    await readTimed((await get("/echo")).body);
    const context = await browser.context();
    const basePage = context.pages()[0];
    for (const page of context.pages().slice(1)) await page.close();
    const createdBefore = browser.pool.pagesCreated;

    const after = await get("/echo");
    expect(after.status).toBe(200);
    await readTimed(after.body);
    expect(browser.pool.pagesCreated).toBeGreaterThan(createdBefore);

    // The page dies while upstream is still thinking: the call runs again on a fresh page.
    const pending = get("/slow-head?id=retry");
    await expect.poll(() => upstream.requests.filter((entry) => entry.path === "/slow-head").length).toBe(1);
    for (const page of context.pages().slice(1)) await page.close();
    const retried = await pending;
    expect((await readTimed(retried.body)).text).toBe("answer 2");

    // The context's first tab never carries requests (protocol notes §8 pitfall 1).
    expect(basePage?.url()).toBe("about:blank");
  });

  it("runs 20 concurrent streams through 2 pages without opening more", async () => {
    const isolated = makeTemporaryDirectory("fqa-transport-concurrent-");
    const concurrentBrowser = new AccountBrowser({
      accountId: "acct_concurrent",
      dataDir: isolated.path,
      baseUrl: upstream.url,
      headless: true,
      chromiumPath: CHROMIUM_PATH,
      poolSize: 2,
    });
    const concurrentTransport = new BrowserTransport({
      pages: concurrentBrowser.pool,
      onClose: () => concurrentBrowser.close(),
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, async (_, index) => {
          const response = await concurrentTransport.request({
            method: "GET",
            url: `${upstream.url}/stream?id=concurrent-${index}&delay=40`,
            headers: {},
          });
          return (await readTimed(response.body)).text;
        }),
      );
      expect(results.every((text) => text === STREAM_TEXT)).toBe(true);
      expect(concurrentBrowser.pool.pagesCreated).toBe(2);
      expect(concurrentBrowser.pool.busy).toBe(0);
      // The first tab plus the two pool pages, nothing per request.
      expect((await concurrentBrowser.context()).pages()).toHaveLength(3);
    } finally {
      await concurrentTransport.close();
      isolated.remove();
    }
  });

  it("refuses requests once closed", async () => {
    const closedTransport = new BrowserTransport({ pages: browser.pool });
    await closedTransport.close();
    const failure = await closedTransport
      .request({ method: "GET", url: `${upstream.url}/echo`, headers: {} })
      .catch((error: unknown) => error);
    expect((failure as QwenError).code).toBe("network_error");
  });
});
