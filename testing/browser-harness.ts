import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

// A tiny upstream for the browser tests: an HTML page at `/` and endpoints that stream
// slowly, need cookies, echo what arrived, or never answer. It records when it wrote each
// chunk and whether the client went away, so tests can prove streaming and abort.

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM_PATH);

/** One streamed response as the server saw it. */
export interface StreamRecord {
  /** `performance.now()` when each chunk was written. */
  writes: number[];
  finished: boolean;
  /** The client closed the connection before the last chunk. */
  closedEarly: boolean;
  closed: Promise<void>;
}

export interface TestUpstream {
  url: string;
  streams: Map<string, StreamRecord>;
  /** Requests by path, with the headers that arrived. */
  requests: { path: string; headers: IncomingMessage["headers"] }[];
  /** `/` answers with the verification interstitial while true. */
  verification: boolean;
  close(): Promise<void>;
}

/**
 * Five chunks of the streamed body. "é" (C3 A9) and "😀" (F0 9F 98 80) are cut between chunks,
 * so a consumer that decodes each chunk on its own gets mojibake.
 */
export const STREAM_CHUNKS: readonly Buffer[] = (() => {
  const text = Buffer.from("data: caf\u00e9 \u{1F600} fin\n\n", "utf8");
  const cuts = [0, 9, 10, 16, 18, text.length];
  return cuts.slice(0, -1).map((start, index) => text.subarray(start, cuts[index + 1]));
})();
export const STREAM_TEXT = "data: caf\u00e9 \u{1F600} fin\n\n";

const HOME_PAGE = `<!doctype html><html><head><title>Test Home</title>
<script>
  // What the page's own script sees on its first run, before anything else touches it.
  window.__seenToken = localStorage.getItem("token");
  // Like the real web app: signed in or not is decided on the client, a moment after load.
  setTimeout(() => {
    if (localStorage.getItem("token")) {
      document.body.dataset.state = "chat";
    } else {
      const container = document.createElement("div");
      container.className = "login-container";
      document.body.appendChild(container);
      document.body.dataset.state = "signed-out";
    }
  }, 150);
</script></head><body data-state="loading"><h1>home</h1></body></html>`;

const VERIFICATION_PAGE =
  "<!doctype html><html><head><title>Verification</title></head><body>滑块验证</body></html>";

export async function startTestUpstream(): Promise<TestUpstream> {
  const streams = new Map<string, StreamRecord>();
  const requests: TestUpstream["requests"] = [];
  const slowHeadCounts = new Map<string, number>();
  const upstream = { verification: false } as TestUpstream;

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    requests.push({ path: url.pathname, headers: request.headers });
    route(url, request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500);
      response.end(String(error));
    });
  });

  const route = async (url: URL, request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = await readBody(request);
    switch (url.pathname) {
      case "/":
        response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
        response.end(upstream.verification ? VERIFICATION_PAGE : HOME_PAGE);
        return;
      case "/stream":
        return streamSlowly(url, response, streams);
      case "/echo":
        response.writeHead(200, { "content-type": "application/json", "x-echo": "yes" });
        response.end(
          JSON.stringify({
            method: request.method,
            headers: request.headers,
            bodyBase64: body.toString("base64"),
          }),
        );
        return;
      case "/set-cookie":
        response.writeHead(200, { "set-cookie": "session=granted; Path=/; SameSite=Lax" });
        response.end("ok");
        return;
      case "/needs-cookie": {
        const cookie = request.headers.cookie ?? "";
        const allowed = /(?:^|;\s*)session=granted/.test(cookie);
        response.writeHead(allowed ? 200 : 401, { "content-type": "text/plain" });
        response.end(allowed ? "welcome" : "no session");
        return;
      }
      case "/slow-head": {
        // The first request for an id waits before answering; later ones answer at once.
        const id = url.searchParams.get("id") ?? "";
        const seen = slowHeadCounts.get(id) ?? 0;
        slowHeadCounts.set(id, seen + 1);
        if (seen === 0) await new Promise((resolve) => setTimeout(resolve, 2_000));
        if (response.destroyed) return;
        response.writeHead(200, { "content-type": "text/plain" });
        response.end(`answer ${seen + 1}`);
        return;
      }
      case "/gzip":
        response.writeHead(200, { "content-type": "text/plain", "content-encoding": "gzip" });
        response.end(gzipSync(Buffer.from("squeezed text")));
        return;
      case "/hang":
        // Never answers; the client's headers timeout has to end it.
        request.socket.on("close", () => response.destroy());
        return;
      case "/silent":
        response.writeHead(200, { "content-type": "text/event-stream" });
        response.write("data: one\n\n");
        request.socket.on("close", () => response.destroy());
        return;
      default:
        response.writeHead(404);
        response.end("not found");
    }
  };

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(upstream, {
    url: `http://127.0.0.1:${port}`,
    streams,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return upstream;
}

/** `/stream?id=…&delay=…&repeat=…`: STREAM_CHUNKS (repeated), one every `delay` ms. */
async function streamSlowly(url: URL, response: ServerResponse, streams: Map<string, StreamRecord>) {
  const id = url.searchParams.get("id") ?? String(streams.size);
  const delayMs = Number(url.searchParams.get("delay") ?? 200);
  const repeat = Number(url.searchParams.get("repeat") ?? 1);
  let markClosed: () => void = () => {};
  const record: StreamRecord = {
    writes: [],
    finished: false,
    closedEarly: false,
    closed: new Promise((resolve) => {
      markClosed = resolve;
    }),
  };
  streams.set(id, record);
  response.on("close", () => {
    if (!record.finished) record.closedEarly = true;
    markClosed();
  });
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const chunks = Array.from({ length: repeat }, () => STREAM_CHUNKS).flat();
  for (const [index, chunk] of chunks.entries()) {
    if (index > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (record.closedEarly || response.destroyed) return;
    response.write(chunk);
    record.writes.push(performance.now());
  }
  record.finished = true;
  response.end();
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

export function makeTemporaryDirectory(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** SIGKILLs the Chromium browser process running on a profile: a crash, as the OS would. */
export function killBrowserOnProfile(profileDirectory: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const isBrowser = !argv.some((argument) => argument.startsWith("--type="));
    if (isBrowser && argv.includes(`--user-data-dir=${profileDirectory}`)) {
      process.kill(Number(entry), "SIGKILL");
      return Number(entry);
    }
  }
  throw new Error(`No browser process found for ${profileDirectory}`);
}

/** Reads a transport body to the end as text, timing each chunk's arrival. */
export async function readTimed(
  body: AsyncIterable<Uint8Array>,
): Promise<{ text: string; arrivals: number[] }> {
  const arrivals: number[] = [];
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    arrivals.push(performance.now());
    chunks.push(Buffer.from(chunk));
  }
  return { text: Buffer.concat(chunks).toString("utf8"), arrivals };
}
