import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spaHeaders } from "../../testing/fake-qwen/test-support.js";
import { type Harness, startHarness } from "../../testing/proxy-harness.js";
import type { Account } from "../accounts/account-pool.js";
import { UpstreamChatReserve } from "./chat-reserve.js";
import { readReservedChats } from "./reserved-chats-file.js";

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ config: { prewarmChats: true } });
});

afterAll(async () => {
  await harness.close();
});

const NEW_CHAT = "/api/v2/chats/new";
const COMPLETIONS = "/api/v2/chat/completions";

async function ask(content: string) {
  const completion = await harness.client().chat.completions.create({
    model: "qwen3.7-plus",
    messages: [{ role: "user", content }],
  });
  return completion.choices[0]?.message.content ?? "";
}

/** The reserve refills in the background; wait until the fake has seen the refill. */
async function settled(creations: number) {
  for (let tries = 0; tries < 100; tries++) {
    if (harness.fake.requests.filter((entry) => entry.path === NEW_CHAT).length >= creations) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("upstream chats created ahead of need", () => {
  it("a new conversation starts in a chat that was made before it was asked", async () => {
    harness.fake.clearRequests();
    expect(await ask("first conversation")).toContain("Turn 1");
    await settled(2);
    const account = harness.accounts[0]!;
    const existingBefore = new Set(harness.fake.chatsOf(account.id).map((chat) => chat.id));
    expect(await ask("second conversation")).toContain("Turn 1");

    const completion = harness.fake.requests.filter((entry) => entry.path === COMPLETIONS).at(-1)!;
    // The second conversation ran in a chat that already existed when it was asked…
    expect(existingBefore.has(completion.query.chat_id ?? "")).toBe(true);
    expect(completion.accountId).toBe(account.id);
    // …and every chat was created by the account that used it.
    const created = harness.fake.requests.filter((entry) => entry.path === NEW_CHAT);
    expect(new Set(created.map((entry) => entry.accountId))).toEqual(new Set([account.id]));
  });

  it("a reserved chat that vanished upstream does not fail the turn", async () => {
    await settled(1);
    const account = harness.accounts[0]!;
    // Someone deletes every chat of the account on chat.qwen.ai, the reserved one too.
    for (const chat of harness.fake.chatsOf(account.id)) {
      await fetch(`${harness.fake.url}/api/v2/chats/${chat.id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${account.token}`, version: "0.2.83" },
      });
    }
    expect(await ask("after the purge")).toContain("You said: «after the purge»");
  });

  it("unused reserved chats are deleted upstream at shutdown", async () => {
    const proxy = await harness.startProxy({
      tokens: [harness.accounts[0]!.token],
      config: { prewarmChats: true },
    });
    const before = new Set(harness.fake.chatsOf(harness.accounts[0]!.id).map((chat) => chat.id));
    await proxy.client().chat.completions.create({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "one" }],
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const during = harness.fake.chatsOf(harness.accounts[0]!.id).filter((chat) => !before.has(chat.id));
    expect(during).toHaveLength(2);
    await proxy.close();
    const after = harness.fake.chatsOf(harness.accounts[0]!.id).filter((chat) => !before.has(chat.id));
    // The conversation's chat stays; the reserved, never used one is gone.
    expect(after).toHaveLength(1);
  });

  it("reserved chats are noted in DATA_DIR, and those a killed run left are deleted at the next start", async () => {
    const account = harness.accounts[0]!;
    const dataDir = mkdtempSync(join(tmpdir(), "fqa-reserve-"));
    const exists = (chatId: string) => harness.fake.chatsOf(account.id).some((chat) => chat.id === chatId);
    try {
      const first = await harness.startProxy({
        tokens: [account.token],
        config: { prewarmChats: true, dataDir },
      });
      await first
        .client()
        .chat.completions.create({ model: "qwen3.7-plus", messages: [{ role: "user", content: "x" }] });
      let reserved = readReservedChats(dataDir);
      for (let tries = 0; tries < 500 && reserved.length === 0; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        reserved = readReservedChats(dataDir);
      }
      expect(reserved).toEqual([{ accountId: `acct_${account.id}`, upstreamChatId: expect.any(String) }]);
      expect(exists(reserved[0]!.upstreamChatId)).toBe(true);
      await first.close();
      expect(readReservedChats(dataDir)).toEqual([]);

      // A run killed while it held a reserved chat: the chat exists upstream, the file names it.
      const created = await fetch(`${harness.fake.url}/api/v2/chats/new`, {
        method: "POST",
        headers: { ...spaHeaders(account.token), "content-type": "application/json" },
        body: JSON.stringify({
          title: "New Chat",
          models: ["qwen3.7-plus"],
          chat_mode: "normal",
          chat_type: "t2t",
        }),
      });
      const leftover = ((await created.json()) as { data: { id: string } }).data.id;
      expect(exists(leftover)).toBe(true);
      writeFileSync(
        join(dataDir, "reserved-chats.json"),
        JSON.stringify([{ accountId: `acct_${account.id}`, upstreamChatId: leftover }]),
      );
      const second = await harness.startProxy({
        tokens: [account.token],
        config: { prewarmChats: false, dataDir },
      });
      await second.server.context.upstreamCleanup.idle();
      expect(exists(leftover)).toBe(false);
      for (let tries = 0; tries < 500 && readReservedChats(dataDir).length > 0; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(readReservedChats(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("a reserved chat kept past its time is deleted, not left behind; so is what a forgotten account held", async () => {
    let next = 0;
    const account = {
      id: "acct_stub",
      client: { createChat: async () => `chat-${++next}` },
    } as unknown as Account;
    const discarded: string[] = [];
    const noted: number[] = [];
    const reserve = new UpstreamChatReserve({
      ttlMs: 0,
      discard: (refs) => discarded.push(...refs.map((ref) => ref.upstreamChatId)),
      onChange: (reserved) => noted.push(reserved.length),
    });
    expect(await reserve.take(account, "m", "t2t")).toBe("chat-1");
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(reserve.reserved()).toEqual([{ accountId: "acct_stub", upstreamChatId: "chat-2" }]);
    // Stale (ttl 0): a fresh chat is made, and the stale one goes to be deleted.
    expect(await reserve.take(account, "m", "t2t")).toBe("chat-3");
    expect(discarded).toEqual(["chat-2"]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    reserve.forget("acct_stub");
    expect(discarded).toEqual(["chat-2", "chat-4"]);
    expect(noted.at(-1)).toBe(0);
  });
});
