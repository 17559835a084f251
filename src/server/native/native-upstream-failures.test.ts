import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  api,
  chatTurn,
  completionRequests,
  deleteUpstreamChat,
  expectError,
  getChat,
  type Json,
  lastCompletion,
  parseReply,
  postSse,
  TempDirs,
  upstreamChatOf,
  upstreamContext,
  upstreamParentOf,
} from "../../../testing/native-harness.js";
import { type Harness, startHarness, upstreamMessageText } from "../../../testing/proxy-harness.js";

// Upstream failures must leave a consistent history: the user's message is kept, the reply
// is recorded as failed (nothing shown) or incomplete (cut off), and the next turn's context
// is made of complete exchanges only.

const dirs = new TempDirs();
let harness: Harness;
let url: string;

beforeAll(async () => {
  harness = await startHarness({ config: { dataDir: dirs.make() } });
  url = harness.url;
});

beforeEach(() => {
  harness.fake.clearScenario();
});

afterAll(async () => {
  await harness?.close();
  dirs.removeAll();
});

const roles = (chat: Json) => chat.messages.map((message: Json) => message.role);

describe("upstream fails before answering, on every attempt", () => {
  it("answers 502 and stores the user message with a failed assistant message", async () => {
    const first = await chatTurn(url, { message: "Remember the number 4217" });
    harness.fake.setScenario({ kind: "internal-error" }, { times: 1000 });

    const failed = await api(url, "POST", "/api/chat", { message: "This one breaks", chatId: first.chatId });
    expectError(failed, 502);
    harness.fake.clearScenario();

    const chat = await getChat(url, first.chatId);
    expect(roles(chat)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(chat.messages[2]).toMatchObject({ role: "user", content: "This one breaks" });
    expect(chat.messages[3].status).toBe("failed");
    expect(chat.messages[3].error).toEqual(expect.any(String));
    const listed = (await api(url, "GET", "/api/chats?limit=500")).body.chats.find(
      (item: Json) => item.chatId === first.chatId,
    );
    expect(listed).toMatchObject({ messageCount: 4, userMessageCount: 2 });
  });

  it("the next turn works, and its context does not hold the failed turn as an answer", async () => {
    const first = await chatTurn(url, { message: "Remember the colour teal" });
    harness.fake.setScenario({ kind: "internal-error" }, { times: 1000 });
    const failed = await api(url, "POST", "/api/chat", { message: "Doomed question", chatId: first.chatId });
    expectError(failed, 502);
    const failure = failed.body.error.message as string;
    harness.fake.clearScenario();

    // The thread goes on from the last complete answer.
    const next = await chatTurn(url, { message: "What colour?", chatId: first.chatId });
    const sent = lastCompletion(harness.fake);
    expect(parseReply(next.content).turn).toBe(2);
    expect(upstreamParentOf(sent)).toBe(first.parentId);
    expect(upstreamMessageText(sent)).toBe("What colour?");
    const context = upstreamContext(harness.fake, sent);
    expect(context).toContain("Remember the colour teal");
    expect(context).not.toContain(failure);

    // Folded (the thread is gone upstream): only complete exchanges are in the history.
    await deleteUpstreamChat(harness.fake, harness.accounts[0]!.token, upstreamChatOf(sent));
    const folded = await chatTurn(url, { message: "Say it again", chatId: first.chatId });
    expect(parseReply(folded.content).turn).toBe(1);
    const text = upstreamMessageText(lastCompletion(harness.fake));
    expect(text).toContain("Remember the colour teal");
    expect(text).toContain(first.content);
    expect(text).toContain(next.content);
    expect(text).not.toContain(failure);
    // Two complete answers, so two assistant entries: the failed turn has none.
    expect(text.match(/^Assistant:/gm)).toHaveLength(2);
    expect(text).not.toMatch(/^Assistant:\s*$/m);

    const chat = await getChat(url, first.chatId);
    expect(chat.messages.map((message: Json) => message.status)).toEqual([
      "complete",
      "complete",
      "complete",
      "failed",
      "complete",
      "complete",
      "complete",
      "complete",
    ]);
  });

  it("a streamed turn that fails before its first token still gets a real 502", async () => {
    const first = await chatTurn(url, { message: "Before a failing stream" });
    harness.fake.setScenario({ kind: "internal-error" }, { times: 1000 });
    const sse = await postSse(url, "/api/chat", {
      message: "Stream that fails",
      chatId: first.chatId,
      stream: true,
    });
    harness.fake.clearScenario();

    expect(sse.status).toBe(502);
    expect(JSON.parse(sse.raw)).toMatchObject({
      error: { type: expect.any(String), code: expect.any(String) },
    });
    const chat = await getChat(url, first.chatId);
    expect(chat.messages.at(-2)).toMatchObject({ role: "user", content: "Stream that fails" });
    expect(chat.messages.at(-1)).toMatchObject({ role: "assistant", status: "failed" });
  });

  it("a failure on the first turn of a new chat still leaves the chat with the user's message", async () => {
    harness.fake.setScenario({ kind: "internal-error" }, { times: 1000 });
    const created = await api(url, "POST", "/api/chats", { name: "Fails at once" });
    const failed = await api(url, "POST", "/api/chat", {
      message: "First words",
      chatId: created.body.chatId,
    });
    expectError(failed, 502);
    harness.fake.clearScenario();

    const retry = await chatTurn(url, { message: "Second try", chatId: created.body.chatId });
    expect(parseReply(retry.content).turn).toBe(1);
    // Nothing of the failure reached the model.
    expect(upstreamMessageText(lastCompletion(harness.fake))).not.toContain(failed.body.error.message);
    const chat = await getChat(url, created.body.chatId);
    expect(chat.messages.map((message: Json) => [message.role, message.status])).toEqual([
      ["user", "complete"],
      ["assistant", "failed"],
      ["user", "complete"],
      ["assistant", "complete"],
    ]);
  });
});

describe("upstream drops the stream in the middle of the answer", () => {
  it("keeps what was answered as incomplete, and continues from the last complete answer", async () => {
    const first = await chatTurn(url, { message: "Start of a chat that gets cut" });
    harness.fake.setScenario({ kind: "drop-mid-answer", afterDeltas: 4 }, { times: 1 });
    const cut = await api(url, "POST", "/api/chat", { message: "Cut me off", chatId: first.chatId });
    expect(cut.status).toBeGreaterThanOrEqual(500);
    expectError(cut, cut.status);

    const chat = await getChat(url, first.chatId);
    expect(roles(chat)).toEqual(["user", "assistant", "user", "assistant"]);
    const partial = chat.messages[3];
    expect(partial.status).toBe("incomplete");
    expect(partial.content.length).toBeGreaterThan(0);
    // What was kept is the beginning of the fake's answer to "Cut me off".
    const whole = `Turn 2 of chat ${parseReply(first.content).upstreamChat}. You said: «Cut me off»`;
    expect(whole.startsWith(partial.content)).toBe(true);

    const next = await chatTurn(url, { message: "Are you there?", chatId: first.chatId });
    const sent = lastCompletion(harness.fake);
    expect(parseReply(next.content).said).toBe("Are you there?");
    expect(upstreamContext(harness.fake, sent)).toContain("Start of a chat that gets cut");
    if (upstreamParentOf(sent) === null) {
      // Folded: the cut-off reply is not presented as an answer.
      expect(upstreamMessageText(sent)).not.toContain(`Assistant: ${partial.content}\n`);
    } else {
      expect(upstreamParentOf(sent)).toBe(first.parentId);
    }
  });

  it("a streamed answer cut off upstream ends with an error event and is stored as incomplete", async () => {
    const first = await chatTurn(url, { message: "Before a cut stream" });
    const before = completionRequests(harness.fake).length;
    harness.fake.setScenario({ kind: "drop-mid-answer", afterDeltas: 5 }, { times: 1 });
    const sse = await postSse(url, "/api/chat", {
      message: "Stream, then die",
      chatId: first.chatId,
      stream: true,
    });

    expect(sse.status).toBe(200);
    expect(sse.data).not.toContain("[DONE]");
    const last = sse.data.at(-1);
    expect(last).toMatchObject({ error: { message: expect.any(String), code: expect.any(String) } });
    expect(completionRequests(harness.fake).length).toBe(before + 1);

    const streamed = sse.data
      .filter((item) => item !== "[DONE]" && item.choices)
      .map((item) => item.choices[0]?.delta?.content ?? "")
      .join("");
    const chat = await getChat(url, first.chatId);
    const partial = chat.messages.at(-1);
    expect(partial).toMatchObject({ role: "assistant", status: "incomplete" });
    expect(partial.content).toBe(streamed);
  });
});
