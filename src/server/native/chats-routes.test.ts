import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  api,
  chatTurn,
  expectError,
  getChat,
  type Json,
  lastCompletion,
  sleep,
  TempDirs,
  UUID,
  upstreamChatOf,
  waitFor,
} from "../../../testing/native-harness.js";
import { type Harness, type RunningProxy, startHarness } from "../../../testing/proxy-harness.js";

// The stored chats over real HTTP: create, list (newest first, paginated, counted), read,
// rename, delete (with the upstream chats in the background) and clean up. Tests that look
// at the whole list get a proxy of their own, on a data directory of their own.

const dirs = new TempDirs();
let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ config: { dataDir: dirs.make() } });
});

afterAll(async () => {
  await harness?.close();
  dirs.removeAll();
});

/** A proxy with an empty store, on the shared fake and account; closed with the harness. */
async function freshProxy(): Promise<RunningProxy> {
  return harness.startProxy({
    tokens: harness.accounts.map((account) => account.token),
    config: { dataDir: dirs.make() },
  });
}

async function createChat(url: string, name: string): Promise<string> {
  const response = await api(url, "POST", "/api/chats", { name });
  expect(response.status, response.text).toBe(201);
  return response.body.chatId;
}

/** A chat with `turns` user/assistant exchanges. */
async function chatWithTurns(url: string, name: string, turns: number): Promise<string> {
  const chatId = await createChat(url, name);
  for (let turn = 1; turn <= turns; turn++) await chatTurn(url, { message: `${name} turn ${turn}`, chatId });
  return chatId;
}

async function listAll(url: string): Promise<Json> {
  const response = await api(url, "GET", "/api/chats?limit=500");
  expect(response.status).toBe(200);
  return response.body;
}

const ids = (chats: Json[]) => chats.map((chat) => chat.chatId);

describe("POST /api/chats", () => {
  it("creates an empty named chat: 201 with chatId, name, model and createdAt", async () => {
    const response = await api(harness.url, "POST", "/api/chats", { name: "  Holiday plans  " });

    expect(response.status).toBe(201);
    expect(response.body.chatId).toMatch(UUID);
    expect(response.body.name).toBe("Holiday plans");
    expect(response.body.model).toEqual(expect.any(String));
    expect(new Date(response.body.createdAt).toISOString()).toBe(response.body.createdAt);

    const chat = await getChat(harness.url, response.body.chatId);
    expect(chat.chatId).toBe(response.body.chatId);
    expect(chat.name).toBe("Holiday plans");
    expect(chat.messages).toEqual([]);
  });

  it("keeps a model given at creation", async () => {
    const response = await api(harness.url, "POST", "/api/chats", {
      name: "With a model",
      model: "qwen3-max",
    });
    expect(response.status).toBe(201);
    expect(response.body.model).toBe("qwen3-max");
  });
});

describe("GET /api/chats", () => {
  it("lists newest first with messageCount and userMessageCount", async () => {
    const proxy = await freshProxy();
    const empty = await createChat(proxy.url, "Empty");
    await sleep(5);
    const one = await chatWithTurns(proxy.url, "One turn", 1);
    await sleep(5);
    const two = await chatWithTurns(proxy.url, "Two turns", 2);

    const list = await listAll(proxy.url);
    expect(list.total).toBe(3);
    expect(ids(list.chats)).toEqual([two, one, empty]);
    const byId = new Map(list.chats.map((chat: Json) => [chat.chatId, chat]));
    expect(byId.get(empty)).toMatchObject({ name: "Empty", messageCount: 0, userMessageCount: 0 });
    expect(byId.get(one)).toMatchObject({ name: "One turn", messageCount: 2, userMessageCount: 1 });
    expect(byId.get(two)).toMatchObject({ name: "Two turns", messageCount: 4, userMessageCount: 2 });
    for (const chat of list.chats) {
      expect(new Date(chat.createdAt).toISOString()).toBe(chat.createdAt);
      expect(new Date(chat.updatedAt).toISOString()).toBe(chat.updatedAt);
      expect(chat.model).toEqual(expect.any(String));
    }

    // A chat that gets a new turn is the newest again.
    await sleep(5);
    await chatTurn(proxy.url, { message: "Back to the empty one", chatId: empty });
    const after = await listAll(proxy.url);
    expect(ids(after.chats)).toEqual([empty, two, one]);
    expect(after.chats[0]).toMatchObject({ messageCount: 2, userMessageCount: 1 });
  });

  it("pages with limit and offset", async () => {
    const proxy = await freshProxy();
    const created: string[] = [];
    for (let index = 1; index <= 5; index++) {
      created.push(await createChat(proxy.url, `Page chat ${index}`));
      await sleep(5);
    }
    const newestFirst = [...created].reverse();

    const pages: string[][] = [];
    for (const offset of [0, 2, 4]) {
      const response = await api(proxy.url, "GET", `/api/chats?limit=2&offset=${offset}`);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ total: 5, limit: 2, offset });
      pages.push(ids(response.body.chats));
    }
    expect(pages).toEqual([newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4)]);

    const beyond = await api(proxy.url, "GET", "/api/chats?limit=2&offset=10");
    expect(beyond.status).toBe(200);
    expect(beyond.body.chats).toEqual([]);
    expect(beyond.body.total).toBe(5);
  });
});

describe("GET /api/chats/:chatId", () => {
  it("returns the whole history, assistant replies included", async () => {
    const first = await chatTurn(harness.url, { message: "Whole history one" });
    const second = await chatTurn(harness.url, { message: "Whole history two", chatId: first.chatId });

    const chat = await getChat(harness.url, first.chatId);
    expect(chat.chatId).toBe(first.chatId);
    const messages = chat.messages as Json[];
    expect(messages.map((message) => [message.role, message.content, message.status])).toEqual([
      ["user", "Whole history one", "complete"],
      ["assistant", first.content, "complete"],
      ["user", "Whole history two", "complete"],
      ["assistant", second.content, "complete"],
    ]);
    expect(new Set(messages.map((message) => message.id)).size).toBe(4);
    for (const message of messages) {
      expect(message.id).toEqual(expect.any(String));
      expect(new Date(message.createdAt).toISOString()).toBe(message.createdAt);
    }
    const times = messages.map((message) => Date.parse(message.createdAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(messages[1].model).toBe("qwen3.7-plus");
  });
});

describe("PUT /api/chats/:chatId/rename", () => {
  it("renames the chat in its detail and in the list", async () => {
    const chatId = await createChat(harness.url, "Before");
    const response = await api(harness.url, "PUT", `/api/chats/${chatId}/rename`, { name: "  After  " });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ chatId, name: "After" });
    expect((await getChat(harness.url, chatId)).name).toBe("After");
    const listed = (await listAll(harness.url)).chats.find((chat: Json) => chat.chatId === chatId);
    expect(listed.name).toBe("After");
  });

  it("answers 404 for an unknown chat", async () => {
    const response = await api(harness.url, "PUT", "/api/chats/5d1c8a4e-2b7f-4e44-9a0b-3c6f1d2e7a90/rename", {
      name: "Nobody",
    });
    expectError(response, 404, { code: "chat_not_found" });
  });
});

describe("DELETE /api/chats/:chatId", () => {
  it("deletes the chat, and its upstream chat in the background", async () => {
    const kept = await chatTurn(harness.url, { message: "Keep me" });
    const keptUpstream = upstreamChatOf(lastCompletion(harness.fake));
    const doomed = await chatTurn(harness.url, { message: "Delete me" });
    await chatTurn(harness.url, { message: "Delete me too", chatId: doomed.chatId });
    const doomedUpstream = upstreamChatOf(lastCompletion(harness.fake));
    const accountId = harness.accounts[0]!.id;
    expect(harness.fake.chatsOf(accountId).map((chat) => chat.id)).toContain(doomedUpstream);

    const response = await api(harness.url, "DELETE", `/api/chats/${doomed.chatId}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ chatId: doomed.chatId, deleted: true });

    expectError(await api(harness.url, "GET", `/api/chats/${doomed.chatId}`), 404, {
      code: "chat_not_found",
    });
    expect(ids((await listAll(harness.url)).chats)).not.toContain(doomed.chatId);
    expectError(await api(harness.url, "DELETE", `/api/chats/${doomed.chatId}`), 404, {
      code: "chat_not_found",
    });

    await waitFor(
      () => !harness.fake.chatsOf(accountId).some((chat) => chat.id === doomedUpstream),
      5000,
      "the upstream chat to be deleted",
    );
    expect(
      harness.fake.requests.some(
        (entry) => entry.method === "DELETE" && entry.path === `/api/v2/chats/${doomedUpstream}`,
      ),
    ).toBe(true);
    // Other chats stay, here and upstream.
    expect(harness.fake.chatsOf(accountId).map((chat) => chat.id)).toContain(keptUpstream);
    expect((await getChat(harness.url, kept.chatId)).messages).toHaveLength(2);
  });

  it("answers 404 for an unknown chat", async () => {
    expectError(await api(harness.url, "DELETE", "/api/chats/7f0e6c1a-3d2b-4a59-8e11-0c9d8b7a6f54"), 404, {
      code: "chat_not_found",
    });
  });
});

describe("POST /api/chats/cleanup", () => {
  async function cleanup(url: string, criteria: Record<string, unknown>) {
    const response = await api(url, "POST", "/api/chats/cleanup", criteria);
    expect(response.status, response.text).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(["chatIds", "deleted", "remaining"]);
    expect(response.body.deleted).toBe(response.body.chatIds.length);
    return response.body as { deleted: number; chatIds: string[]; remaining: number };
  }

  it("olderThan deletes only the chats untouched for longer than that many ms", async () => {
    const proxy = await freshProxy();
    const oldA = await createChat(proxy.url, "Old A");
    const oldB = await chatWithTurns(proxy.url, "Old B", 1);
    await sleep(600);
    const fresh = await createChat(proxy.url, "Fresh");

    const result = await cleanup(proxy.url, { olderThan: 400 });
    expect(result.chatIds.sort()).toEqual([oldA, oldB].sort());
    expect(result).toMatchObject({ deleted: 2, remaining: 1 });
    expect(ids((await listAll(proxy.url)).chats)).toEqual([fresh]);
  });

  it("userMessageCountLessThan counts only the user's messages", async () => {
    const proxy = await freshProxy();
    const empty = await createChat(proxy.url, "No turns");
    const one = await chatWithTurns(proxy.url, "One turn", 1);
    const two = await chatWithTurns(proxy.url, "Two turns", 2);

    const result = await cleanup(proxy.url, { userMessageCountLessThan: 2 });
    expect(result.chatIds.sort()).toEqual([empty, one].sort());
    expect(result).toMatchObject({ deleted: 2, remaining: 1 });
    expect(ids((await listAll(proxy.url)).chats)).toEqual([two]);
  });

  it("messageCountLessThan counts every message", async () => {
    const proxy = await freshProxy();
    const empty = await createChat(proxy.url, "No turns");
    const one = await chatWithTurns(proxy.url, "One turn", 1);
    const two = await chatWithTurns(proxy.url, "Two turns", 2);

    // The one-turn chat has 2 messages (1 from the user): not fewer than 2.
    const result = await cleanup(proxy.url, { messageCountLessThan: 2 });
    expect(result.chatIds).toEqual([empty]);
    expect(result).toMatchObject({ deleted: 1, remaining: 2 });
    expect(ids((await listAll(proxy.url)).chats).sort()).toEqual([one, two].sort());

    const again = await cleanup(proxy.url, { messageCountLessThan: 4 });
    expect(again.chatIds).toEqual([one]);
    expect(again.remaining).toBe(1);
  });

  it("maxChats keeps the newest N and deletes the rest, with their upstream chats", async () => {
    const proxy = await freshProxy();
    const created: string[] = [];
    for (let index = 1; index <= 4; index++) {
      created.push(await chatWithTurns(proxy.url, `Max chat ${index}`, 1));
      await sleep(5);
    }
    const oldestUpstream = harness.fake.requests.find(
      (entry) =>
        entry.path === "/api/v2/chat/completions" &&
        JSON.stringify(entry.body).includes("Max chat 1 turn 1") &&
        upstreamChatOf(entry) !== "",
    );
    expect(oldestUpstream).toBeDefined();

    const result = await cleanup(proxy.url, { maxChats: 2 });
    expect(result.chatIds.sort()).toEqual(created.slice(0, 2).sort());
    expect(result).toMatchObject({ deleted: 2, remaining: 2 });
    expect(ids((await listAll(proxy.url)).chats)).toEqual([created[3], created[2]]);

    const upstreamId = upstreamChatOf(oldestUpstream!);
    await waitFor(
      () => !harness.fake.chatsOf(harness.accounts[0]!.id).some((chat) => chat.id === upstreamId),
      5000,
      "the upstream chat of a cleaned-up chat to be deleted",
    );
  });

  it("deletes a chat only when every filter holds, then applies maxChats to the rest", async () => {
    const proxy = await freshProxy();
    const oldEmpty = await createChat(proxy.url, "Old empty");
    const oldBusy = await chatWithTurns(proxy.url, "Old busy", 2);
    await sleep(600);
    const newBusy = await chatWithTurns(proxy.url, "New busy", 2);
    await sleep(5);
    const newEmpty = await createChat(proxy.url, "New empty");

    // Old and without user messages: only one chat is both.
    const first = await cleanup(proxy.url, { olderThan: 400, userMessageCountLessThan: 1 });
    expect(first.chatIds).toEqual([oldEmpty]);
    expect(first.remaining).toBe(3);

    // Fewer than 3 messages and old: nothing left is both.
    const none = await cleanup(proxy.url, { olderThan: 400, messageCountLessThan: 3 });
    expect(none).toEqual({ deleted: 0, chatIds: [], remaining: 3 });

    // The filter takes the new empty chat; of the rest only the newest one stays.
    const second = await cleanup(proxy.url, { messageCountLessThan: 1, maxChats: 1 });
    expect(second.chatIds.sort()).toEqual([newEmpty, oldBusy].sort());
    expect(second.remaining).toBe(1);
    expect(ids((await listAll(proxy.url)).chats)).toEqual([newBusy]);
  });

  it("answers 400 without any criterion", async () => {
    expectError(await api(harness.url, "POST", "/api/chats/cleanup", {}), 400);
  });
});
