import { describe, expect, it } from "vitest";
import { startFakeQwen } from "./index.js";
import { createRandom } from "./seeded-random.js";
import { chooseCuts } from "./sse-writer.js";
import { completionBody, createChat, postCompletion, readSse } from "./test-support.js";

describe("fake-qwen lifecycle", () => {
  it("close() ends open streams and keep-alive sockets promptly", async () => {
    const fake = await startFakeQwen({ chunkDelayMs: 0 });
    const account = fake.addAccount();
    const chatId = await createChat(fake, account.token);
    fake.setScenario({ kind: "slow-chunks", delayMs: 10_000 });
    const response = await postCompletion(fake, account.token, chatId, completionBody(chatId));
    expect(response.status).toBe(200);
    const reading = readSse(response);
    const started = Date.now();
    await fake.close();
    expect(Date.now() - started).toBeLessThan(1000);
    const capture = await reading;
    expect(capture.events).toHaveLength(0);
    await expect(fetch(`${fake.url}/api/models`)).rejects.toThrow();
  });

  it("splits bytes deterministically for a given seed", () => {
    const bytes = Buffer.from('data: {"choices": [{"delta": {"content": "Привет 👋 你好"}}]}\n\n', "utf8");
    const first = chooseCuts(bytes, createRandom(42));
    expect(chooseCuts(bytes, createRandom(42))).toEqual(first);
    expect(chooseCuts(bytes, createRandom(43))).not.toEqual(first);
    const firstMultiByte = bytes.findIndex((byte) => byte >= 0xc0);
    expect(first).toContain(firstMultiByte + 1);
    expect(first.every((cut) => cut > 0 && cut < bytes.length)).toBe(true);
  });

  it("binds to the requested port and reports its URL", async () => {
    const fake = await startFakeQwen({ port: 0, host: "127.0.0.1" });
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${fake.url}/api/models`)).status).toBe(200);
    await fake.close();
  });
});
