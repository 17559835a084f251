import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { Agent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import {
  createSecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

// The fake upstream speaks HTTP/1.1 over plain TCP, and Chromium opens at most 6 HTTP/1.1
// connections per host: the seventh concurrent in-page stream waits for one of them to end.
// chat.qwen.ai itself speaks HTTP/2, where one connection carries every stream. This front
// gives the fake that shape for the browser benchmark: TLS with a certificate made at run time
// (Chromium only speaks HTTP/2 over TLS), HTTP/2 to the browser, HTTP/1.1 to the fake.

const run = promisify(execFile);

export interface Certificate {
  key: Buffer;
  cert: Buffer;
}

/** A throw-away self-signed certificate for 127.0.0.1, made with the system's `openssl`. */
export async function makeSelfSignedCertificate(): Promise<Certificate> {
  const directory = await mkdtemp(join(tmpdir(), "fqa-bench-cert-"));
  try {
    const keyPath = join(directory, "key.pem");
    const certPath = join(directory, "cert.pem");
    // An EC key is made in milliseconds; RSA would work as well, only slower.
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ]);
    return { key: await readFile(keyPath), cert: await readFile(certPath) };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

export interface FrontStatistics {
  /** Requests by the protocol the client spoke to the front ("2.0", "1.1"). */
  requestsByHttpVersion: Record<string, number>;
  /** TLS connections the clients opened to the front. */
  connections: number;
  /** Requests being forwarded now. */
  active: number;
}

export interface Http2Front {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  statistics(): FrontStatistics;
  close(): Promise<void>;
}

/** HTTP/1 hop-by-hop headers, and ones HTTP/2 forbids in a response. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "host",
]);

export async function startHttp2Front(options: {
  /** The plain-HTTP server behind it, e.g. the fake's `http://127.0.0.1:<port>`. */
  target: string;
  certificate: Certificate;
}): Promise<Http2Front> {
  const target = new URL(options.target);
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const statistics: FrontStatistics = { requestsByHttpVersion: {}, connections: 0, active: 0 };
  const sessions = new Set<Http2Session>();

  const server = createSecureServer(
    {
      ...options.certificate,
      // Chromium falls back to HTTP/1.1 if ALPN fails; counting versions shows whether it did.
      allowHTTP1: true,
      settings: { maxConcurrentStreams: 1_000 },
    },
    (request, response) => forward(request, response),
  );
  server.on("secureConnection", () => {
    statistics.connections++;
  });
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });

  function forward(request: Http2ServerRequest, response: Http2ServerResponse): void {
    const version = request.httpVersion;
    statistics.requestsByHttpVersion[version] = (statistics.requestsByHttpVersion[version] ?? 0) + 1;
    statistics.active++;
    let counted = true;
    const done = () => {
      if (!counted) return;
      counted = false;
      statistics.active--;
    };
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (name.startsWith(":") || HOP_BY_HOP.has(name)) continue;
      headers[name] = value;
    }
    headers.host = target.host;
    const upstream = httpRequest(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers,
      },
      (upstreamResponse) => {
        const replyHeaders: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(upstreamResponse.headers)) {
          if (value === undefined || HOP_BY_HOP.has(name)) continue;
          replyHeaders[name] = value;
        }
        response.writeHead(upstreamResponse.statusCode ?? 502, replyHeaders);
        // Each event as it comes: the whole point is to see streams, not buffers.
        upstreamResponse.on("data", (chunk: Buffer) => response.write(chunk));
        upstreamResponse.on("end", () => {
          response.end();
          done();
        });
        upstreamResponse.on("error", () => {
          response.destroy();
          done();
        });
      },
    );
    upstream.on("error", () => {
      if (!response.headersSent) {
        response.writeHead(502);
        response.end();
      } else response.destroy();
      done();
    });
    // The browser cancelled (or went away): the fake must see its client leave too.
    response.on("close", () => {
      if (!response.writableFinished) upstream.destroy();
      done();
    });
    request.pipe(upstream);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    statistics: () => ({ ...statistics, requestsByHttpVersion: { ...statistics.requestsByHttpVersion } }),
    close: async () => {
      for (const session of sessions) session.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
