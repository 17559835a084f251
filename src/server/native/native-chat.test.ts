import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  api,
  chatTurn,
  completionRequests,
  deleteUpstreamChat,
  expectError,
  getChat,
  lastCompletion,
  parseReply,
  postSse,
  streamedText,
  TempDirs,
  UUID,
  upstreamChatOf,
  upstreamContext,
  upstreamParentOf,
} from "../../../testing/native-harness.js";
import {
  type Harness,
  startHarness,
  upstreamMessages,
  upstreamMessageText,
} from "../../../testing/proxy-harness.js";

// POST /api/chat end to end: the proxy on 127.0.0.1 against the fake chat.qwen.ai. The fake
// says which context reached "the model": "Turn N" is the depth of the upstream thread, and
// a folded history shows up inside the single upstream message.

const dirs = new TempDirs();
let harness: Harness;
let url: string;

beforeAll(async () => {
  harness = await startHarness({ config: { dataDir: dirs.make() } });
  url = harness.url;
});

afterAll(async () => {
  await harness?.close();
  dirs.removeAll();
});

describe("POST /api/chat starts a chat", () => {
  it("answers a string message with OpenAI-like JSON plus chatId and parentId", async () => {
    const response = await api(url, "POST", "/api/chat", {
      message: "Hello from the native API",
      model: "qwen3.7-plus",
    });

    expect(response.status).toBe(200);
    const body = response.body;
    expect(body.object).toBe("chat.completion");
    expect(body.id).toEqual(expect.any(String));
    expect(body.model).toBe("qwen3.7-plus");
    expect(body.choices).toHaveLength(1);
    expect(body.choices[0].message.role).toBe("assistant");
    expect(body.choices[0].finish_reason).toBe("stop");
    expect(body.usage.total_tokens).toBeGreaterThan(0);
    const reply = parseReply(body.choices[0].message.content);
    expect(reply.turn).toBe(1);
    expect(reply.said).toBe("Hello from the native API");

    expect(body.chatId).toMatch(UUID);
    expect(body.parentId).toEqual(expect.any(String));
    expect(body.parentId).not.toBe("");
    expect(response.headers.get("x-chat-id")).toBe(body.chatId);

    // A new chat: a new upstream thread that starts with exactly the message.
    expect(upstreamParentOf(lastCompletion(harness.fake))).toBeNull();
    expect(upstreamMessageText(lastCompletion(harness.fake))).toBe("Hello from the native API");

    const chat = await getChat(url, body.chatId);
    expect(chat.messages.map((message: { role: string }) => message.role)).toEqual(["user", "assistant"]);
    expect(chat.messages[0].content).toBe("Hello from the native API");
    expect(chat.messages[1].content).toBe(body.choices[0].message.content);
  });

  it("uses the default model when none is given", async () => {
    const turn = await chatTurn(url, { message: "No model given" });
    expect(turn.body.model).toBe("qwen3.7-plus");
    expect(parseReply(turn.content).turn).toBe(1);
  });

  it("each call without chatId makes a new chat", async () => {
    const first = await chatTurn(url, { message: "Same words" });
    const second = await chatTurn(url, { message: "Same words" });
    expect(second.chatId).not.toBe(first.chatId);
    expect(parseReply(second.content).turn).toBe(1);
    expect(parseReply(second.content).upstreamChat).not.toBe(parseReply(first.content).upstreamChat);
  });

  it("takes a parts array with text and an image URL, and stores the parts", async () => {
    // An image Qwen serves itself is passed on as it is (others are fetched and uploaded).
    const image = `${harness.fake.url}/output/user/t2i/response/cat.png?key=k`;
    const turn = await chatTurn(url, {
      message: [
        { type: "text", text: "What is in this picture?" },
        { type: "image", image },
      ],
    });

    expect(parseReply(turn.content).said).toBe("What is in this picture?");
    expect(turn.content).toContain("Attachments: 0 file(s), 1 image part(s).");
    const content = upstreamMessages(lastCompletion(harness.fake))[0]!.content;
    expect(content).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "text", text: "What is in this picture?" }),
        expect.objectContaining({ type: "image", image }),
      ]),
    );

    const chat = await getChat(url, turn.chatId);
    expect(chat.messages[0].role).toBe("user");
    expect(chat.messages[0].content).toBe("What is in this picture?");
    expect(chat.messages[0].parts).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "file", url: image })]),
    );
  });

  it("joins several text parts into one message", async () => {
    const turn = await chatTurn(url, {
      message: [
        { type: "text", text: "Line one" },
        { type: "text", text: "Line two" },
      ],
    });
    expect(parseReply(turn.content).said).toBe("Line one\nLine two");
  });

  it("takes only the last user message of a messages array", async () => {
    const turn = await chatTurn(url, {
      model: "qwen3.7-plus",
      messages: [
        { role: "user", content: "An old question the client kept" },
        { role: "assistant", content: "An old answer the client kept" },
        { role: "user", content: "The new question" },
      ],
    });

    expect(parseReply(turn.content).turn).toBe(1);
    const sent = upstreamMessageText(lastCompletion(harness.fake));
    expect(sent).toBe("The new question");
    const chat = await getChat(url, turn.chatId);
    expect(chat.messages.map((message: { role: string }) => message.role)).toEqual(["user", "assistant"]);
    expect(chat.messages[0].content).toBe("The new question");
  });

  it("takes the last user message from parts in a messages array too", async () => {
    const turn = await chatTurn(url, {
      messages: [{ role: "user", content: [{ type: "text", text: "Parts inside messages" }] }],
    });
    expect(parseReply(turn.content).said).toBe("Parts inside messages");
  });
});

describe("context comes from the stored history", () => {
  it("continues the upstream thread with parent_id = the previous answer", async () => {
    const first = await chatTurn(url, { message: "My name is Ada" });
    const firstUpstream = lastCompletion(harness.fake);

    const second = await chatTurn(url, { message: "What is my name?", chatId: first.chatId });
    const secondUpstream = lastCompletion(harness.fake);
    expect(second.chatId).toBe(first.chatId);
    expect(parseReply(second.content).turn).toBe(2);
    expect(parseReply(second.content).upstreamChat).toBe(parseReply(first.content).upstreamChat);
    expect(upstreamChatOf(secondUpstream)).toBe(upstreamChatOf(firstUpstream));
    expect(upstreamParentOf(secondUpstream)).toBe(first.parentId);
    // Only the new message goes upstream; the thread holds the rest.
    expect(upstreamMessageText(secondUpstream)).toBe("What is my name?");
    expect(upstreamContext(harness.fake, secondUpstream)).toContain("My name is Ada");
    expect(second.parentId).not.toBe(first.parentId);

    const third = await chatTurn(url, {
      messages: [{ role: "user", content: "Once more" }],
      chatId: first.chatId,
    });
    expect(parseReply(third.content).turn).toBe(3);
    expect(upstreamParentOf(lastCompletion(harness.fake))).toBe(second.parentId);

    const chat = await getChat(url, first.chatId);
    expect(
      chat.messages.map((message: { role: string; content: string }) => [message.role, message.content]),
    ).toEqual([
      ["user", "My name is Ada"],
      ["assistant", first.content],
      ["user", "What is my name?"],
      ["assistant", second.content],
      ["user", "Once more"],
      ["assistant", third.content],
    ]);
  });

  it("a chat made with POST /api/chats takes turns and keeps its name", async () => {
    const created = await api(url, "POST", "/api/chats", { name: "Project notes" });
    expect(created.status).toBe(201);
    const chatId = created.body.chatId;

    const first = await chatTurn(url, { message: "First note", chatId });
    expect(first.chatId).toBe(chatId);
    expect(parseReply(first.content).turn).toBe(1);
    const second = await chatTurn(url, { message: "Second note", chatId });
    expect(parseReply(second.content).turn).toBe(2);

    const chat = await getChat(url, chatId);
    expect(chat.name).toBe("Project notes");
    expect(chat.messages).toHaveLength(4);
  });

  it("folds the stored history into a new upstream chat when the thread is gone", async () => {
    const first = await chatTurn(url, { message: "Remember the number 4217" });
    const second = await chatTurn(url, { message: "And the colour teal", chatId: first.chatId });
    const oldThread = upstreamChatOf(lastCompletion(harness.fake));
    // Someone deleted the chat on chat.qwen.ai: the thread cannot be continued.
    await deleteUpstreamChat(harness.fake, harness.accounts[0]!.token, oldThread);

    const third = await chatTurn(url, { message: "What did I tell you?", chatId: first.chatId });
    const folded = lastCompletion(harness.fake);
    expect(third.chatId).toBe(first.chatId);
    expect(parseReply(third.content).turn).toBe(1);
    expect(upstreamChatOf(folded)).not.toBe(oldThread);
    expect(upstreamParentOf(folded)).toBeNull();
    const text = upstreamMessageText(folded);
    for (const earlier of [
      "Remember the number 4217",
      first.content,
      "And the colour teal",
      second.content,
    ]) {
      expect(text).toContain(earlier);
    }
    // The new message comes last, after the history.
    expect(text.lastIndexOf("What did I tell you?")).toBeGreaterThan(text.indexOf(second.content));

    // The new thread is then continued as usual.
    const fourth = await chatTurn(url, { message: "Thanks", chatId: first.chatId });
    expect(parseReply(fourth.content).turn).toBe(2);
    expect(upstreamChatOf(lastCompletion(harness.fake))).toBe(upstreamChatOf(folded));
    expect(upstreamMessageText(lastCompletion(harness.fake))).toBe("Thanks");
  });
});

describe("stream: true", () => {
  it("streams OpenAI chunks with chatId on the first and the final chunk, then [DONE]", async () => {
    const sse = await postSse(url, "/api/chat", { message: "Stream me, please", stream: true });

    expect(sse.status).toBe(200);
    expect(sse.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(sse.data.at(-1)).toBe("[DONE]");
    const chunks = sse.data.filter((item) => item !== "[DONE]");
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) {
      expect(chunk.object).toBe("chat.completion.chunk");
      expect(chunk.id).toBe(chunks[0].id);
    }

    const first = chunks[0];
    expect(first.choices[0].delta.role).toBe("assistant");
    expect(first.chatId).toMatch(UUID);
    expect(sse.headers.get("x-chat-id")).toBe(first.chatId);

    const finals = chunks.filter((chunk) => chunk.choices?.[0]?.finish_reason);
    expect(finals).toHaveLength(1);
    expect(finals[0].choices[0].finish_reason).toBe("stop");
    expect(finals[0].chatId).toBe(first.chatId);
    // Every chunk has a choice to read (a client may read choices[0] of each); the usage rides
    // on the last one.
    for (const chunk of chunks) expect(chunk.choices).toHaveLength(1);
    expect(finals[0].usage.total_tokens).toBeGreaterThan(0);
    // Every chunk that names the chat names the same one.
    for (const chunk of chunks) if ("chatId" in chunk) expect(chunk.chatId).toBe(first.chatId);

    const text = streamedText(sse.data);
    expect(parseReply(text).said).toBe("Stream me, please");
    const chat = await getChat(url, first.chatId);
    expect(chat.messages.map((message: { role: string }) => message.role)).toEqual(["user", "assistant"]);
    expect(chat.messages[1].content).toBe(text);
    expect(chat.messages[1].status).toBe("complete");
  });

  it("a streamed turn continues a chat, and the next JSON turn continues the streamed one", async () => {
    const first = await chatTurn(url, { message: "Start in JSON" });
    const streamed = await postSse(url, "/api/chat", {
      message: "Continue as a stream",
      chatId: first.chatId,
      stream: true,
    });
    expect(streamed.status).toBe(200);
    const streamedReply = parseReply(streamedText(streamed.data));
    expect(streamedReply.turn).toBe(2);
    expect(streamedReply.upstreamChat).toBe(parseReply(first.content).upstreamChat);
    const chunks = streamed.data.filter((item) => item !== "[DONE]");
    expect(chunks[0].chatId).toBe(first.chatId);

    const third = await chatTurn(url, { message: "Back to JSON", chatId: first.chatId });
    expect(parseReply(third.content).turn).toBe(3);
    expect(upstreamContext(harness.fake, lastCompletion(harness.fake))).toContain("Start in JSON");
  });
});

describe("two turns at once to one chat", () => {
  it("are serialised: the history never interleaves and the second reply is Turn 2", async () => {
    const created = await api(url, "POST", "/api/chats", { name: "Concurrent" });
    const chatId = created.body.chatId as string;
    const before = completionRequests(harness.fake).length;
    // Slow enough that the second request arrives while the first is still streaming.
    harness.fake.setScenario({ kind: "slow-chunks", delayMs: 15 }, { times: 2 });
    try {
      const [alpha, beta] = await Promise.all([
        chatTurn(url, { message: "Concurrent alpha", chatId }),
        chatTurn(url, { message: "Concurrent beta", chatId }),
      ]);

      // Each answer echoes its own question.
      expect(parseReply(alpha.content).said).toBe("Concurrent alpha");
      expect(parseReply(beta.content).said).toBe("Concurrent beta");
      expect([parseReply(alpha.content).turn, parseReply(beta.content).turn].sort()).toEqual([1, 2]);

      const chat = await getChat(url, chatId);
      const messages = chat.messages as Array<{ role: string; content: string; status: string }>;
      expect(messages.map((message) => message.role)).toEqual(["user", "assistant", "user", "assistant"]);
      expect(messages.every((message) => message.status === "complete")).toBe(true);
      expect(parseReply(messages[1]!.content).said).toBe(messages[0]!.content);
      expect(parseReply(messages[3]!.content).said).toBe(messages[2]!.content);
      expect(parseReply(messages[1]!.content).turn).toBe(1);
      expect(parseReply(messages[3]!.content).turn).toBe(2);

      // Upstream saw them one after the other, the second as a child of the first.
      const upstream = completionRequests(harness.fake).slice(before);
      expect(upstream).toHaveLength(2);
      expect(upstreamParentOf(upstream[0]!)).toBeNull();
      expect(upstreamParentOf(upstream[1]!)).toEqual(expect.any(String));
      expect(upstreamChatOf(upstream[1]!)).toBe(upstreamChatOf(upstream[0]!));
    } finally {
      harness.fake.clearScenario();
    }
  });
});

describe("the OpenAI surface continues a named chat", () => {
  async function completion(body: Record<string, unknown>, headers: Record<string, string> = {}) {
    return api(url, "POST", "/v1/chat/completions", { model: "qwen3.7-plus", ...body }, headers);
  }

  it("with chat_id in the body, stores the turn in that chat and keeps its context", async () => {
    const first = await chatTurn(url, { message: "My favourite colour is teal" });

    const response = await completion({
      messages: [{ role: "user", content: "What is my favourite colour?" }],
      chat_id: first.chatId,
    });
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get("x-chat-id")).toBe(first.chatId);
    const content = response.body.choices[0].message.content as string;
    expect(parseReply(content).said).toBe("What is my favourite colour?");

    const chat = await getChat(url, first.chatId);
    expect(chat.messages.map((message: { role: string }) => message.role)).toEqual([
      "user",
      "assistant",
      "user",
      "assistant",
    ]);
    expect(chat.messages[2].content).toBe("What is my favourite colour?");
    // The stored chat is the context: the model can see the colour.
    expect(upstreamContext(harness.fake, lastCompletion(harness.fake))).toContain(
      "My favourite colour is teal",
    );
  });

  it("with an X-Chat-Id header, uses a chat made with POST /api/chats and keeps its context", async () => {
    const created = await api(url, "POST", "/api/chats", { name: "Named from the native API" });
    const chatId = created.body.chatId as string;
    const listed = (await api(url, "GET", "/api/chats?limit=500")).body.total;

    const first = await completion(
      { messages: [{ role: "user", content: "The password is swordfish" }] },
      { "x-chat-id": chatId },
    );
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get("x-chat-id")).toBe(chatId);
    // No new chat appeared: the turn went into the named one.
    expect((await api(url, "GET", "/api/chats?limit=500")).body.total).toBe(listed);

    const second = await completion(
      { messages: [{ role: "user", content: "What is the password?" }] },
      { "x-chat-id": chatId },
    );
    expect(second.status, second.text).toBe(200);
    const chat = await getChat(url, chatId);
    expect(chat.name).toBe("Named from the native API");
    expect(
      chat.messages
        .map((message: { content: string }) => message.content)
        .filter((_: string, index: number) => index % 2 === 0),
    ).toEqual(["The password is swordfish", "What is the password?"]);
    expect(upstreamContext(harness.fake, lastCompletion(harness.fake))).toContain(
      "The password is swordfish",
    );
  });

  it("answers 404 for an unknown chat_id and 400 for a malformed X-Chat-Id", async () => {
    const before = completionRequests(harness.fake).length;
    const unknown = await completion({
      messages: [{ role: "user", content: "Hi" }],
      chat_id: "0b6f3a0e-9d1c-4c3e-8f55-5e1e2a7c9d10",
    });
    expectError(unknown, 404, { code: "chat_not_found" });

    const malformed = await completion(
      { messages: [{ role: "user", content: "Hi" }] },
      { "x-chat-id": "not-a-uuid" },
    );
    expectError(malformed, 400, { code: "invalid_chat_id" });
    expect(String(malformed.body.error.param).toLowerCase()).toMatch(/chat[-_]?id/);
    expect(completionRequests(harness.fake).length).toBe(before);
  });
});
