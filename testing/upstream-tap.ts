import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

// A pass-through HTTP proxy between the product and the fake upstream that notes when each
// exchange started and when its last bytes went by. The fake's request log knows who asked
// and when; only something on the wire can tell how long an answer was still streaming.
// Each forwarded request carries `x-tap-id`, which the fake logs, so the two records join.

export interface TappedExchange {
  id: number;
  method: string;
  /** Path and query, as the product asked. */
  target: string;
  startedAt: number;
  status?: number;
  /**
   * When the last body bytes from upstream passed the tap, taken before they are passed on:
   * the product cannot have seen the end of the answer any earlier.
   */
  lastByteAt?: number;
}

export interface UpstreamTap {
  url: string;
  readonly exchanges: TappedExchange[];
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "host", "content-length"]);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value;
  }
  return kept;
}

export async function startUpstreamTap(upstreamUrl: string): Promise<UpstreamTap> {
  const upstream = new URL(upstreamUrl);
  const exchanges: TappedExchange[] = [];
  const server = createServer((incoming, outgoing) => {
    const exchange: TappedExchange = {
      id: exchanges.length + 1,
      method: incoming.method ?? "GET",
      target: incoming.url ?? "/",
      startedAt: Date.now(),
    };
    exchanges.push(exchange);
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: exchange.method,
        path: exchange.target,
        headers: { ...forwardable(incoming.headers), "x-tap-id": String(exchange.id) },
      },
      (response) => {
        exchange.status = response.statusCode;
        outgoing.writeHead(response.statusCode ?? 502, forwardable(response.headers));
        response.on("data", (chunk: Buffer) => {
          exchange.lastByteAt = Date.now();
          outgoing.write(chunk);
        });
        response.on("end", () => outgoing.end());
        response.on("error", () => outgoing.destroy());
      },
    );
    forwarded.on("error", () => outgoing.destroy());
    // The product hung up (an abort): upstream is told the same way.
    outgoing.on("close", () => {
      if (!outgoing.writableFinished) forwarded.destroy();
    });
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
