import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FakeQwen } from "../../../testing/fake-qwen/index.js";
import {
  api,
  chatTurn,
  completionRequests,
  getChat,
  type Json,
  lastCompletion,
  openLiveStream,
  type ProxyProcess,
  parseReply,
  receivedLengthAt,
  sleep,
  spawnProxy,
  TempDirs,
  upstreamContext,
  upstreamParentOf,
} from "../../../testing/native-harness.js";
import { type Harness, type RunningProxy, startHarness } from "../../../testing/proxy-harness.js";

// Chats outlive the process: a graceful restart and a SIGKILL in the middle of a streamed
// reply both leave the stored history intact (in <dataDir>/freeqwenapi.db), and the next
// turn after the restart still has the conversation's context.

const dirs = new TempDirs();
let harness: Harness;
let fake: FakeQwen;
const children: ProxyProcess[] = [];

beforeAll(async () => {
  harness = await startHarness({ config: { dataDir: dirs.make() } });
  fake = harness.fake;
});

afterEach(async () => {
  fake.clearScenario();
  await Promise.all(children.splice(0).map((child) => child.kill()));
});

afterAll(async () => {
  await harness?.close();
  dirs.removeAll();
});

/** Asserts that the upstream request of the last turn could see `earlier` (thread or fold). */
function expectContextHolds(earlier: string) {
  const sent = lastCompletion(fake);
  const context = upstreamContext(fake, sent);
  expect(context, "the earlier content should reach the model after the restart").toContain(earlier);
  return { sent, continued: upstreamParentOf(sent) !== null };
}

describe("a graceful restart on the same data directory", () => {
  it("serves the same chats and continues their context", async () => {
    const dataDir = dirs.make();
    const token = harness.accounts[0]!.token;
    let proxy: RunningProxy = await harness.startProxy({ tokens: [token], config: { dataDir } });

    const first = await chatTurn(proxy.url, { message: "Remember the code word marmalade" });
    const second = await chatTurn(proxy.url, { message: "And the number 31", chatId: first.chatId });
    const named = await api(proxy.url, "POST", "/api/chats", { name: "Survives restarts" });
    const before = await getChat(proxy.url, first.chatId);
    const listBefore = (await api(proxy.url, "GET", "/api/chats")).body;

    await proxy.close();
    expect(existsSync(join(dataDir, "freeqwenapi.db"))).toBe(true);
    proxy = await harness.startProxy({ tokens: [token], config: { dataDir } });

    // The same chats, the same messages.
    expect(await getChat(proxy.url, first.chatId)).toEqual(before);
    const listAfter = (await api(proxy.url, "GET", "/api/chats")).body;
    expect(listAfter).toEqual(listBefore);
    expect((await getChat(proxy.url, named.body.chatId)).name).toBe("Survives restarts");

    const third = await chatTurn(proxy.url, { message: "What was the code word?", chatId: first.chatId });
    const reply = parseReply(third.content);
    const { continued } = expectContextHolds("Remember the code word marmalade");
    expect(upstreamContext(fake, lastCompletion(fake))).toContain("And the number 31");
    if (continued) {
      // The thread survived the restart: the third turn is its third message.
      expect(reply.turn).toBe(3);
      expect(upstreamParentOf(lastCompletion(fake))).toBe(second.parentId);
    } else {
      expect(reply.turn).toBe(1);
    }

    const after = await getChat(proxy.url, first.chatId);
    expect(after.messages.map((message: Json) => message.content)).toEqual([
      "Remember the code word marmalade",
      first.content,
      "And the number 31",
      second.content,
      "What was the code word?",
      third.content,
    ]);
    await proxy.close();
  });
});

describe("SIGKILL in the middle of a streamed reply", () => {
  it("loses nothing stored, and a restart continues the conversation", async () => {
    const dataDir = dirs.make();
    const tokens = [harness.accounts[0]!.token];
    const firstProcess = await spawnProxy({ upstreamUrl: fake.url, tokens, dataDir });
    children.push(firstProcess);

    const first = await chatTurn(firstProcess.url, { message: "Remember the number 4217" });
    expect(parseReply(first.content).turn).toBe(1);

    // A slow reply (a chunk every 150 ms, about five seconds), killed after two seconds.
    fake.setScenario({ kind: "slow-chunks", delayMs: 150 }, { times: 1 });
    const question = "Now tell me a long story about the number, slowly please";
    const started = Date.now();
    const live = await openLiveStream(firstProcess.url, "/api/chat", {
      message: question,
      chatId: first.chatId,
      stream: true,
    });
    expect(live.status).toBe(200);
    await sleep(Math.max(0, 2000 - (Date.now() - started)));
    expect(live.text.length, "some of the reply should have arrived before the kill").toBeGreaterThan(0);
    expect(live.sawDone, "the reply should still be streaming at the kill").toBe(false);
    const killedAt = Date.now();
    await firstProcess.kill();
    await live.finished;
    const received = live.text;
    // The store may lag by up to its flush interval (1 s) plus one chunk.
    const surelyStored = receivedLengthAt(live, killedAt - 1500);

    const secondProcess = await spawnProxy({ upstreamUrl: fake.url, tokens, dataDir });
    children.push(secondProcess);

    const chat = await getChat(secondProcess.url, first.chatId);
    const messages = chat.messages as Json[];
    expect(messages.map((message) => message.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(messages[0]).toMatchObject({ content: "Remember the number 4217", status: "complete" });
    expect(messages[1]).toMatchObject({ content: first.content, status: "complete" });
    expect(messages[2]).toMatchObject({ role: "user", content: question });
    const cut = messages[3];
    expect(["complete", "incomplete"]).toContain(cut.status);
    if (cut.status === "incomplete") {
      expect(cut.content.length).toBeGreaterThanOrEqual(Math.max(1, surelyStored));
      // What is stored is what was streamed, up to where the store last flushed.
      expect(received.startsWith(cut.content) || cut.content.startsWith(received)).toBe(true);
    } else {
      expect(cut.content.startsWith(received)).toBe(true);
      expect(parseReply(cut.content).said).toBe(question);
    }
    const listed = (await api(secondProcess.url, "GET", "/api/chats")).body.chats.find(
      (item: Json) => item.chatId === first.chatId,
    );
    expect(listed).toMatchObject({ messageCount: 4, userMessageCount: 2 });

    // The conversation goes on with its context.
    const upstreamBefore = completionRequests(fake).length;
    const next = await chatTurn(secondProcess.url, {
      message: "Which number did I ask you to remember?",
      chatId: first.chatId,
    });
    expect(completionRequests(fake).length).toBeGreaterThan(upstreamBefore);
    const reply = parseReply(next.content);
    const { continued } = expectContextHolds("Remember the number 4217");
    if (continued) expect(reply.turn).toBeGreaterThan(1);

    const after = await getChat(secondProcess.url, first.chatId);
    expect(after.messages).toHaveLength(6);
    expect(after.messages[5]).toMatchObject({ role: "assistant", status: "complete", content: next.content });
  });
});
