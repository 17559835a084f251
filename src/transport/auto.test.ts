import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "../../testing/fake-qwen/index.js";
import { collect, textOf } from "../../testing/replay.js";
import { QwenClient } from "../qwen/client.js";
import { AutoTransport } from "./auto.js";
import { DirectTransport } from "./direct.js";
import type { Transport, TransportRequest } from "./transport.js";

let fake: FakeQwen;
let token: string;

beforeAll(async () => {
  fake = await startFakeQwen();
  token = fake.addAccount().token;
});

afterAll(async () => {
  await fake.close();
});

/** A second path to the same upstream that records what it carried (the browser's place). */
function recordingPath(): Transport & { carried: TransportRequest[] } {
  const inner = new DirectTransport();
  const carried: TransportRequest[] = [];
  return {
    kind: "browser",
    carried,
    request: (request) => {
      carried.push(request);
      return inner.request(request);
    },
    close: () => inner.close(),
  };
}

function setUp(stickyMs = 60_000) {
  const second = recordingPath();
  const fallbacks: string[] = [];
  let now = 1_000;
  const transport = new AutoTransport({
    direct: new DirectTransport(),
    browser: async () => second,
    stickyMs,
    now: () => now,
    onFallback: (reason) => fallbacks.push(reason),
  });
  const client = new QwenClient({ baseUrl: fake.url, transport, credentials: { token } });
  return { transport, second, fallbacks, client, advance: (ms: number) => (now += ms) };
}

async function ask(client: QwenClient, content: string) {
  const chatId = await client.createChat({ model: "qwen3.7-plus" });
  return collect(client.streamCompletion({ chatId, model: "qwen3.7-plus", content }));
}

describe("automatic fallback from direct HTTP", () => {
  it("goes direct while upstream answers, streaming through untouched", async () => {
    const { client, second, fallbacks, transport } = setUp();
    const { events, error } = await ask(client, "plain path");
    expect(error).toBeUndefined();
    expect(textOf(events)).toContain("plain path");
    expect(second.carried).toHaveLength(0);
    expect(fallbacks).toEqual([]);
    await transport.close();
  });

  it("replays a request the wall answered, then stays on the other path for a while", async () => {
    const { client, second, fallbacks, transport, advance } = setUp(60_000);
    fake.setScenario({ kind: "waf" }, { times: 1, route: "new-chat" });
    const { events, error } = await ask(client, "behind the wall");
    expect(error).toBeUndefined();
    expect(textOf(events)).toContain("behind the wall");
    expect(fallbacks).toEqual(["upstream answered with an anti-bot page"]);
    expect(second.carried.map((request) => new URL(request.url).pathname)).toEqual([
      "/api/v2/chats/new",
      "/api/v2/chat/completions",
    ]);
    expect(transport.onBrowserPath).toBe(true);
    advance(61_000);
    expect(transport.onBrowserPath).toBe(false);
    await ask(client, "direct again");
    expect(second.carried).toHaveLength(2);
    await transport.close();
  });

  it("an empty answer is the wall too", async () => {
    const { client, fallbacks, transport } = setUp();
    fake.setScenario({ kind: "empty-stream" }, { times: 1 });
    const { error, events } = await ask(client, "empty first");
    expect(error).toBeUndefined();
    expect(textOf(events)).toContain("empty first");
    expect(fallbacks).toEqual(["upstream answered with an empty body"]);
    await transport.close();
  });

  it("business errors and JSON answers pass through to be classified, not replayed", async () => {
    const { client, second, transport } = setUp();
    fake.setScenario({ kind: "rate-limited", hours: 2 }, { times: 1 });
    const limited = await ask(client, "limited");
    expect(limited.error?.code).toBe("rate_limited");
    fake.setScenario({ kind: "json-completion" }, { times: 1 });
    const json = await ask(client, "json");
    expect(json.error).toBeUndefined();
    expect(second.carried).toHaveLength(0);
    await transport.close();
  });

  it("without a browser to fall back on, the wall is reported with the reason", async () => {
    const transport = new AutoTransport({
      direct: new DirectTransport(),
      browser: async () => {
        throw new Error("No Chromium found: sudo apt-get install -y chromium");
      },
    });
    const client = new QwenClient({ baseUrl: fake.url, transport, credentials: { token } });
    fake.setScenario({ kind: "waf" }, { times: 1, route: "new-chat" });
    await expect(client.createChat({ model: "qwen3.7-plus" })).rejects.toMatchObject({
      code: "waf_challenge",
      message: expect.stringContaining("apt-get install -y chromium"),
    });
    // No browser came up, so the account is not on a browser path (nothing to verify there).
    expect(transport.onBrowserPath).toBe(false);
    await transport.close();
  });

  it("an empty 200 where no body is due (a parse, a deletion) is an answer, not the wall", async () => {
    const { second, fallbacks, transport } = setUp();
    const empty = await startEmptyServer();
    try {
      for (const path of ["/api/v2/files/parse", "/api/v2/chats/3b0e2a8c-5e7b-4c59-a1a4-7d0d4bb2f6a1"]) {
        const response = await transport.request({ method: "POST", url: `${empty.url}${path}`, headers: {} });
        expect(response.status).toBe(200);
        let bytes = 0;
        for await (const chunk of response.body) bytes += chunk.byteLength;
        expect(bytes).toBe(0);
      }
      expect(fallbacks).toEqual([]);
      expect(second.carried).toHaveLength(0);
      // Where a body is due, the same empty answer is the wall.
      await transport.request({ method: "POST", url: `${empty.url}/api/v2/chats/new`, headers: {} });
      expect(fallbacks).toEqual(["upstream answered with an empty body"]);
    } finally {
      await empty.close();
      await transport.close();
    }
  });
});

/** A server that answers every request 200 with nothing in it. */
async function startEmptyServer(): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer } = await import("node:http");
  const server = createServer((_request, response) => response.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
