import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../../testing/proxy-harness.js";

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
});
