import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "./index.js";
import {
  completeTurn,
  completionBody,
  createChat,
  postCompletion,
  postJson,
  spaHeaders,
} from "./test-support.js";

describe("fake-qwen chats", () => {
  let fake: FakeQwen;
  let alice: ReturnType<FakeQwen["addAccount"]>;
  let bob: ReturnType<FakeQwen["addAccount"]>;

  beforeAll(async () => {
    fake = await startFakeQwen({ chunkDelayMs: 0 });
    alice = fake.addAccount();
    bob = fake.addAccount();
  });
  afterAll(() => fake.close());

  const newChat = (token: string, headers: Record<string, string>) =>
    postJson(
      `${fake.url}/api/v2/chats/new`,
      { title: "New Chat", models: ["qwen3.7-plus"], chat_type: "t2t" },
      {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        ...headers,
      },
    );
  const getJson = async (path: string, token: string) =>
    (await (await fetch(`${fake.url}${path}`, { headers: spaHeaders(token) })).json()) as Record<
      string,
      unknown
    >;

  it("creates a chat only for a current SPA version header", async () => {
    const fresh = await newChat(alice.token, { version: "0.2.83" });
    expect(fresh.status).toBe(200);
    expect(fresh.json).toMatchObject({
      success: true,
      request_id: expect.any(String),
      data: { id: expect.any(String) },
    });
    expect((await newChat(alice.token, { version: "0.2.60" })).json.data).toHaveProperty("id");

    const staleHeaders: Array<Record<string, string>> = [
      {},
      { version: "0.2.9" },
      { version: "0.1.13" },
      { version: "banana" },
    ];
    for (const headers of staleHeaders) {
      const stale = await newChat(alice.token, headers);
      expect(stale.status).toBe(200);
      expect(stale.json).toMatchObject({ success: true, data: {} });
      expect(stale.json.data).not.toHaveProperty("id");
    }
    expect((await newChat("bogus", { version: "0.2.83" })).status).toBe(401);
  });

  it("lists own chats newest first under both list URLs", async () => {
    const first = await createChat(fake, bob.token);
    const second = await createChat(fake, bob.token);
    await completeTurn(fake, bob.token, first, { text: "bump" });
    for (const path of ["/api/v2/chats/?page=1&exclude_project=true", "/api/v2/chats?limit=10"]) {
      const list = await getJson(path, bob.token);
      expect(list.success).toBe(true);
      const ids = (list.data as Array<{ id: string; chat_type: string; updated_at: number }>).map(
        (chat) => chat.id,
      );
      expect(ids).toEqual([first, second]);
    }
    const limited = await getJson("/api/v2/chats?limit=1", bob.token);
    expect(limited.data).toHaveLength(1);
    const aliceIds = (
      (await getJson("/api/v2/chats?limit=50", alice.token)).data as Array<{ id: string }>
    ).map((chat) => chat.id);
    expect(aliceIds).not.toContain(first);
    expect(fake.chatsOf(bob.id).map((chat) => chat.id)).toEqual([first, second]);
  });

  it("returns chat detail with user and assistant items, and hides it from others", async () => {
    const chatId = await createChat(fake, alice.token);
    const { responseId } = await completeTurn(fake, alice.token, chatId, {
      text: "Думай",
      featureConfig: { thinking_enabled: true, output_schema: "phase", thinking_format: "summary" },
    });
    const detail = await getJson(`/api/v2/chats/${chatId}`, alice.token);
    const data = detail.data as {
      id: string;
      title: string;
      chat: { history: { messages: object }; messages: Array<Record<string, unknown>> };
    };
    expect(data.id).toBe(chatId);
    expect(data.title).toBe("Думай");
    expect(data.chat.history.messages).toEqual({});
    const [user, assistant] = data.chat.messages;
    expect(user).toMatchObject({ role: "user", content: "Думай", parentId: null });
    expect(assistant).toMatchObject({ id: responseId, role: "assistant", parentId: user?.id });
    expect(assistant?.content).toContain("Turn 1 of chat");
    expect(assistant?.reasoning_content).toEqual(expect.stringContaining("turn 1"));
    const contentList = (assistant?.content_list ?? []) as Array<{ phase: string }>;
    const phases = contentList.map((entry) => entry.phase);
    expect(phases).toEqual(["thinking_summary", "answer"]);
    expect(fake.chatsOf(alice.id).find((chat) => chat.id === chatId)?.messageCount).toBe(2);

    const foreign = await getJson(`/api/v2/chats/${chatId}`, bob.token);
    expect(foreign).toMatchObject({ success: false, data: { code: "not found" } });
  });

  it("deletes own chats only, after which completions on them fail", async () => {
    const chatId = await createChat(fake, alice.token);
    const byBob = await fetch(`${fake.url}/api/v2/chats/${chatId}`, {
      method: "DELETE",
      headers: spaHeaders(bob.token),
    });
    expect(await byBob.json()).toMatchObject({ success: false, data: { code: "not found" } });
    const byAlice = await fetch(`${fake.url}/api/v2/chats/${chatId}`, {
      method: "DELETE",
      headers: spaHeaders(alice.token),
    });
    expect(await byAlice.json()).toMatchObject({ success: true, data: { status: true } });
    const response = await postCompletion(fake, alice.token, chatId, completionBody(chatId));
    expect(await response.json()).toMatchObject({
      success: false,
      data: { code: "Bad_Request", details: `Invalid input the chat ${chatId} is not exist.` },
    });
  });
});
