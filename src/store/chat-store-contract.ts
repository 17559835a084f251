import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ChatStore, NewMessage, UpstreamBinding } from "./chat-store.js";

/** One fresh, empty store per test, as the implementation under test provides it. */
export interface ChatStoreHarness {
  store: ChatStore;
  /**
   * Opens the same data again. The contract closes the current store first, so a durable
   * implementation must return everything that was written before the close.
   */
  reopen?: () => Promise<ChatStore>;
  cleanup?: () => Promise<void>;
}

/**
 * Behaviour every ChatStore must show, whatever it is built on. Run it from the
 * implementation's test file: `describeChatStoreContract("SqliteChatStore", async () => ...)`.
 * The durability tests exist only for stores declared `durable` (whose harness gives `reopen`).
 */
export function describeChatStoreContract(
  name: string,
  open: () => Promise<ChatStoreHarness>,
  options: { durable: boolean },
): void {
  describe(`${name} (ChatStore contract)`, () => {
    let harness: ChatStoreHarness;
    let store: ChatStore;

    beforeEach(async () => {
      harness = await open();
      store = harness.store;
    });

    afterEach(async () => {
      await store.close();
      await harness.cleanup?.();
    });

    async function reopen(): Promise<ChatStore> {
      if (!harness.reopen) throw new Error("reopen() without harness.reopen");
      await store.close();
      store = await harness.reopen();
      return store;
    }

    /** Makes a chat with a few messages of each kind, for tests that need some history. */
    async function chatWithHistory(chatName = "History") {
      const chat = await store.createChat({ name: chatName, model: "qwen3-max" });
      await store.appendMessage(chat.id, { role: "system", content: "Be brief." });
      await store.appendMessage(chat.id, { role: "user", content: "Hello" });
      await store.appendMessage(chat.id, { role: "assistant", content: "Hi!", model: "qwen3-max" });
      await store.appendMessage(chat.id, { role: "user", content: "How are you?" });
      return chat;
    }

    describe("chats", () => {
      it("creates a chat with its name and model, timestamps and no history", async () => {
        const before = Date.now();
        const chat = await store.createChat({ name: "First", model: "qwen3-max" });
        expect(chat).toMatchObject({ name: "First", model: "qwen3-max", messages: [] });
        expect(chat.id).toEqual(expect.any(String));
        expect(chat.id.length).toBeGreaterThan(0);
        expect(chat.createdAt).toBeGreaterThanOrEqual(before);
        expect(chat.createdAt).toBeLessThanOrEqual(Date.now());
        expect(chat.updatedAt).toBe(chat.createdAt);
        expect(chat.binding).toBeUndefined();
        expect(chat.historyHash).toBeUndefined();
        expect(await store.getChat(chat.id)).toEqual(chat);
      });

      it("gives every chat its own id unless the caller chooses one", async () => {
        const first = await store.createChat({ name: "A", model: "m" });
        const second = await store.createChat({ name: "B", model: "m" });
        expect(first.id).not.toBe(second.id);
        const chosen = await store.createChat({ id: "chosen-id", name: "C", model: "m" });
        expect(chosen.id).toBe("chosen-id");
        expect((await store.getChat("chosen-id"))?.name).toBe("C");
      });

      it("returns undefined for an unknown chat", async () => {
        expect(await store.getChat("no-such-chat")).toBeUndefined();
      });

      it("renames a chat and moves it to the top", async () => {
        const chat = await store.createChat({ name: "Old", model: "m" });
        await nextMillisecond();
        expect(await store.renameChat(chat.id, "New")).toBe(true);
        const renamed = await store.getChat(chat.id);
        expect(renamed?.name).toBe("New");
        expect(renamed?.updatedAt).toBeGreaterThan(chat.updatedAt);
        expect(renamed?.createdAt).toBe(chat.createdAt);
      });

      it("does not rename an unknown chat", async () => {
        expect(await store.renameChat("no-such-chat", "Name")).toBe(false);
        expect((await store.listChats()).total).toBe(0);
      });
    });

    describe("listing", () => {
      it("lists nothing in an empty store", async () => {
        expect(await store.listChats()).toEqual({ chats: [], total: 0 });
      });

      it("lists the most recently updated chat first", async () => {
        const first = await store.createChat({ name: "first", model: "m" });
        await nextMillisecond();
        const second = await store.createChat({ name: "second", model: "m" });
        await nextMillisecond();
        await store.createChat({ name: "third", model: "m" });
        expect(await listedNames()).toEqual(["third", "second", "first"]);

        await nextMillisecond();
        await store.appendMessage(first.id, { role: "user", content: "bump" });
        expect(await listedNames()).toEqual(["first", "third", "second"]);

        await nextMillisecond();
        await store.renameChat(second.id, "second, renamed");
        expect(await listedNames()).toEqual(["second, renamed", "first", "third"]);
      });

      it("pages with limit and offset, with the total of all chats", async () => {
        for (const chatName of ["a", "b", "c", "d", "e"]) {
          await store.createChat({ name: chatName, model: "m" });
          await nextMillisecond();
        }
        const page = async (limit?: number, offset?: number) => {
          const options: { limit?: number; offset?: number } = {};
          if (limit !== undefined) options.limit = limit;
          if (offset !== undefined) options.offset = offset;
          const result = await store.listChats(options);
          return { names: result.chats.map((chat) => chat.name), total: result.total };
        };
        expect(await page()).toEqual({ names: ["e", "d", "c", "b", "a"], total: 5 });
        expect(await page(2, 0)).toEqual({ names: ["e", "d"], total: 5 });
        expect(await page(2, 2)).toEqual({ names: ["c", "b"], total: 5 });
        expect(await page(2, 4)).toEqual({ names: ["a"], total: 5 });
        expect(await page(2, 5)).toEqual({ names: [], total: 5 });
        expect(await page(undefined, 3)).toEqual({ names: ["b", "a"], total: 5 });
        expect(await page(0)).toEqual({ names: [], total: 5 });
      });

      it("summarises each chat with its message and user message counts", async () => {
        const busy = await chatWithHistory("busy");
        await nextMillisecond();
        const empty = await store.createChat({ name: "empty", model: "qwen-plus" });
        const stored = await store.getChat(busy.id);
        const { chats } = await store.listChats();
        expect(chats).toEqual([
          {
            id: empty.id,
            name: "empty",
            model: "qwen-plus",
            createdAt: empty.createdAt,
            updatedAt: empty.updatedAt,
            messageCount: 0,
            userMessageCount: 0,
          },
          {
            id: busy.id,
            name: "busy",
            model: "qwen3-max",
            createdAt: busy.createdAt,
            updatedAt: stored?.updatedAt,
            messageCount: 4,
            userMessageCount: 2,
          },
        ]);
      });
    });

    describe("messages", () => {
      it("appends messages in order, complete unless told otherwise", async () => {
        const chat = await store.createChat({ name: "Chat", model: "m" });
        const before = Date.now();
        const user = await store.appendMessage(chat.id, { role: "user", content: "Question" });
        const reply = await store.appendMessage(chat.id, { role: "assistant", content: "Answer" });
        expect(user).toMatchObject({ role: "user", content: "Question", status: "complete" });
        expect(user.createdAt).toBeGreaterThanOrEqual(before);
        expect(user.id).not.toBe(reply.id);
        const stored = await store.getChat(chat.id);
        expect(stored?.messages).toEqual([user, reply]);
      });

      it("keeps every optional field of a message", async () => {
        const chat = await store.createChat({ name: "Chat", model: "m" });
        const message: NewMessage = {
          role: "assistant",
          content: "A picture and a thought",
          parts: [
            { type: "text", text: "A picture and a thought" },
            { type: "image", url: "https://example.com/cat.png" },
            { type: "file", url: "https://example.com/notes.txt", text: "notes.txt" },
          ],
          reasoning: "The user wants a picture.",
          model: "qwen3-max",
          usage: {
            inputTokens: 12,
            outputTokens: 34,
            totalTokens: 46,
            reasoningTokens: 5,
            cachedTokens: 2,
            estimated: true,
          },
          status: "incomplete",
          error: "Stream cut",
        };
        const stored = await store.appendMessage(chat.id, message);
        expect(stored).toMatchObject(message);
        expect((await store.getChat(chat.id))?.messages).toEqual([stored]);
      });

      it("moves the chat's updatedAt on append, never its createdAt", async () => {
        const chat = await store.createChat({ name: "Chat", model: "m" });
        await nextMillisecond();
        await store.appendMessage(chat.id, { role: "user", content: "Hi" });
        const stored = await store.getChat(chat.id);
        expect(stored?.createdAt).toBe(chat.createdAt);
        expect(stored?.updatedAt).toBeGreaterThan(chat.updatedAt);
      });

      it("keeps the order of many appends", async () => {
        const chat = await store.createChat({ name: "Long", model: "m" });
        for (let index = 0; index < 60; index++) {
          await store.appendMessage(chat.id, {
            role: index % 2 ? "assistant" : "user",
            content: `#${index}`,
          });
        }
        const stored = await store.getChat(chat.id);
        expect(stored?.messages.map((message) => message.content)).toEqual(
          Array.from({ length: 60 }, (_, index) => `#${index}`),
        );
      });

      it("keeps every one of many concurrent appends", async () => {
        const chat = await store.createChat({ name: "Busy", model: "m" });
        const contents = Array.from({ length: 50 }, (_, index) => `concurrent ${index}`);
        const appended = await Promise.all(
          contents.map((content) => store.appendMessage(chat.id, { role: "user", content })),
        );
        const stored = await store.getChat(chat.id);
        expect(new Set(appended.map((message) => message.id)).size).toBe(50);
        expect(stored?.messages.map((message) => message.content).sort()).toEqual([...contents].sort());
        expect((await store.listChats()).chats[0]?.messageCount).toBe(50);
      });

      it("refuses to append to an unknown chat", async () => {
        await expect(store.appendMessage("no-such-chat", { role: "user", content: "Hi" })).rejects.toThrow();
        expect(await store.getChat("no-such-chat")).toBeUndefined();
      });

      it("updates a streaming reply until it is complete, leaving other fields alone", async () => {
        const chat = await store.createChat({ name: "Chat", model: "m" });
        const question = await store.appendMessage(chat.id, { role: "user", content: "Count to three" });
        const reply = await store.appendMessage(chat.id, {
          role: "assistant",
          content: "One",
          model: "qwen3-max",
          status: "incomplete",
        });
        await store.updateMessage(chat.id, reply.id, { content: "One, two", reasoning: "Counting" });
        await store.updateMessage(chat.id, reply.id, {
          content: "One, two, three",
          usage: { inputTokens: 3, outputTokens: 5, totalTokens: 8 },
          status: "complete",
        });
        const stored = await store.getChat(chat.id);
        expect(stored?.messages).toEqual([
          question,
          {
            ...reply,
            content: "One, two, three",
            reasoning: "Counting",
            usage: { inputTokens: 3, outputTokens: 5, totalTokens: 8 },
            status: "complete",
          },
        ]);
      });

      it("records a failed turn with its error", async () => {
        const chat = await store.createChat({ name: "Chat", model: "m" });
        const reply = await store.appendMessage(chat.id, {
          role: "assistant",
          content: "",
          status: "incomplete",
        });
        await store.updateMessage(chat.id, reply.id, { status: "failed", error: "Rate limited" });
        const [stored] = (await store.getChat(chat.id))?.messages ?? [];
        expect(stored).toMatchObject({ content: "", status: "failed", error: "Rate limited" });
      });

      it("clears reasoning, usage and error given as undefined in a patch", async () => {
        const chat = await store.createChat({ name: "Chat", model: "m" });
        const reply = await store.appendMessage(chat.id, {
          role: "assistant",
          content: "Text",
          reasoning: "Thoughts",
          usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
          status: "failed",
          error: "Boom",
        });
        await store.updateMessage(chat.id, reply.id, {
          reasoning: undefined,
          usage: undefined,
          error: undefined,
          status: "complete",
        });
        const [stored] = (await store.getChat(chat.id))?.messages ?? [];
        expect(stored?.reasoning).toBeUndefined();
        expect(stored?.usage).toBeUndefined();
        expect(stored?.error).toBeUndefined();
        expect(stored).toMatchObject({ content: "Text", status: "complete" });
      });

      it("refuses to update an unknown message, another chat's message, or in an unknown chat", async () => {
        const chat = await store.createChat({ name: "Chat", model: "m" });
        const other = await store.createChat({ name: "Other", model: "m" });
        const message = await store.appendMessage(other.id, { role: "user", content: "Mine" });
        await expect(store.updateMessage(chat.id, "no-such-message", { content: "x" })).rejects.toThrow();
        await expect(store.updateMessage(chat.id, message.id, { content: "x" })).rejects.toThrow();
        await expect(store.updateMessage("no-such-chat", message.id, { content: "x" })).rejects.toThrow();
        expect((await store.getChat(other.id))?.messages).toEqual([message]);
        expect((await store.getChat(chat.id))?.messages).toEqual([]);
      });
    });

    describe("binding and history hash", () => {
      const binding: UpstreamBinding = {
        accountId: "account-1",
        upstreamChatId: "upstream-1",
        lastResponseId: "response-1",
        syncedMessageCount: 2,
      };

      it("sets, replaces and clears the upstream binding", async () => {
        const chat = await store.createChat({ name: "Chat", model: "m" });
        await store.setBinding(chat.id, binding);
        expect((await store.getChat(chat.id))?.binding).toEqual(binding);
        const next = { ...binding, lastResponseId: "response-2", syncedMessageCount: 4 };
        await store.setBinding(chat.id, next);
        expect((await store.getChat(chat.id))?.binding).toEqual(next);
        await store.setBinding(chat.id, undefined);
        expect((await store.getChat(chat.id))?.binding).toBeUndefined();
      });

      it("refuses to bind an unknown chat", async () => {
        await expect(store.setBinding("no-such-chat", binding)).rejects.toThrow();
      });

      it("sets and clears the history hash", async () => {
        const chat = await store.createChat({ name: "Chat", model: "m" });
        await store.setHistoryHash(chat.id, "hash-1");
        expect((await store.getChat(chat.id))?.historyHash).toBe("hash-1");
        expect((await store.findByHistoryHash("hash-1"))?.id).toBe(chat.id);
        await store.setHistoryHash(chat.id, "hash-2");
        expect(await store.findByHistoryHash("hash-1")).toBeUndefined();
        await store.setHistoryHash(chat.id, undefined);
        expect((await store.getChat(chat.id))?.historyHash).toBeUndefined();
        expect(await store.findByHistoryHash("hash-2")).toBeUndefined();
      });

      it("refuses to set a history hash on an unknown chat", async () => {
        await expect(store.setHistoryHash("no-such-chat", "hash")).rejects.toThrow();
      });

      it("finds the most recently updated chat with a history hash, with its messages", async () => {
        const older = await chatWithHistory("older");
        await store.setHistoryHash(older.id, "shared");
        await nextMillisecond();
        const newer = await chatWithHistory("newer");
        await store.setHistoryHash(newer.id, "shared");
        await store.setBinding(newer.id, binding);
        await store.createChat({ name: "unrelated", model: "m" });

        const found = await store.findByHistoryHash("shared");
        expect(found).toEqual(await store.getChat(newer.id));
        expect(found?.messages).toHaveLength(4);

        await nextMillisecond();
        await store.appendMessage(older.id, { role: "assistant", content: "Fine." });
        expect((await store.findByHistoryHash("shared"))?.id).toBe(older.id);
        expect(await store.findByHistoryHash("unknown")).toBeUndefined();
      });
    });

    describe("upstream chats", () => {
      it("remembers each upstream chat once, in the order first seen", async () => {
        const chat = await store.createChat({ name: "Chat", model: "m" });
        await store.addUpstreamChat(chat.id, { accountId: "a", upstreamChatId: "u1" });
        await store.addUpstreamChat(chat.id, { accountId: "b", upstreamChatId: "u2" });
        await store.addUpstreamChat(chat.id, { accountId: "a", upstreamChatId: "u1" });
        expect(await store.listUpstreamChats(chat.id)).toEqual([
          { accountId: "a", upstreamChatId: "u1" },
          { accountId: "b", upstreamChatId: "u2" },
        ]);
      });

      it("keeps each chat's upstream chats apart", async () => {
        const first = await store.createChat({ name: "First", model: "m" });
        const second = await store.createChat({ name: "Second", model: "m" });
        await store.addUpstreamChat(first.id, { accountId: "a", upstreamChatId: "u1" });
        expect(await store.listUpstreamChats(second.id)).toEqual([]);
        expect(await store.listUpstreamChats("no-such-chat")).toEqual([]);
      });

      it("refuses an upstream chat for an unknown chat", async () => {
        await expect(
          store.addUpstreamChat("no-such-chat", { accountId: "a", upstreamChatId: "u1" }),
        ).rejects.toThrow();
      });
    });

    describe("deleting", () => {
      it("deletes a chat with its messages and returns the upstream chats it had", async () => {
        const chat = await chatWithHistory("doomed");
        await store.setBinding(chat.id, {
          accountId: "a",
          upstreamChatId: "u2",
          lastResponseId: "r",
          syncedMessageCount: 4,
        });
        await store.setHistoryHash(chat.id, "doomed-hash");
        await store.addUpstreamChat(chat.id, { accountId: "a", upstreamChatId: "u1" });
        await store.addUpstreamChat(chat.id, { accountId: "a", upstreamChatId: "u2" });

        expect(await store.deleteChat(chat.id)).toEqual({
          upstreamChats: [
            { accountId: "a", upstreamChatId: "u1" },
            { accountId: "a", upstreamChatId: "u2" },
          ],
        });
        expect(await store.getChat(chat.id)).toBeUndefined();
        expect(await store.listChats()).toEqual({ chats: [], total: 0 });
        expect(await store.findByHistoryHash("doomed-hash")).toBeUndefined();
        expect(await store.listUpstreamChats(chat.id)).toEqual([]);

        // A new chat under the same id must not inherit anything of the old one.
        await store.createChat({ id: chat.id, name: "reborn", model: "m" });
        const reborn = await store.getChat(chat.id);
        expect(reborn?.messages).toEqual([]);
        expect(reborn?.binding).toBeUndefined();
        expect(reborn?.historyHash).toBeUndefined();
        expect(await store.listUpstreamChats(chat.id)).toEqual([]);
      });

      it("returns an empty list for a chat that used no upstream chat", async () => {
        const chat = await store.createChat({ name: "Quiet", model: "m" });
        expect(await store.deleteChat(chat.id)).toEqual({ upstreamChats: [] });
      });

      it("returns undefined for an unknown or already deleted chat", async () => {
        expect(await store.deleteChat("no-such-chat")).toBeUndefined();
        const chat = await store.createChat({ name: "Once", model: "m" });
        await store.deleteChat(chat.id);
        expect(await store.deleteChat(chat.id)).toBeUndefined();
      });

      it("leaves the other chats untouched", async () => {
        const kept = await chatWithHistory("kept");
        await store.addUpstreamChat(kept.id, { accountId: "a", upstreamChatId: "kept-upstream" });
        const doomed = await chatWithHistory("doomed");
        const keptBefore = await store.getChat(kept.id);
        await store.deleteChat(doomed.id);
        expect(await store.getChat(kept.id)).toEqual(keptBefore);
        expect(await store.listUpstreamChats(kept.id)).toEqual([
          { accountId: "a", upstreamChatId: "kept-upstream" },
        ]);
        expect((await store.listChats()).total).toBe(1);
      });
    });

    describe("attachmentUrls", () => {
      it("lists every part URL of every message once, and forgets those of a deleted chat", async () => {
        expect(await store.attachmentUrls()).toEqual(new Set());
        const kept = await store.createChat({ name: "kept", model: "m" });
        const doomed = await store.createChat({ name: "doomed", model: "m" });
        const file = "file:0f6c4f8e-7a43-4a39-9f0a-c3f2b3f1f0aa";
        await store.appendMessage(kept.id, {
          role: "user",
          content: "two pictures",
          parts: [
            { type: "text", text: "two pictures" },
            { type: "file", url: file },
            { type: "image", url: "https://cdn.example/cat.png" },
          ],
        });
        await store.appendMessage(kept.id, { role: "assistant", content: "nice" });
        await store.appendMessage(doomed.id, {
          role: "user",
          content: "same file, and another",
          parts: [
            { type: "file", url: file },
            { type: "file", url: "file:3b0e2a8c-5e7b-4c59-a1a4-7d0d4bb2f6a1" },
            { type: "image", url: "data:image/png;base64,iVBORw0KGgo=" },
          ],
        });
        expect(await store.attachmentUrls()).toEqual(
          new Set([file, "https://cdn.example/cat.png", "file:3b0e2a8c-5e7b-4c59-a1a4-7d0d4bb2f6a1"]),
        );
        await store.deleteChat(doomed.id);
        expect(await store.attachmentUrls()).toEqual(new Set([file, "https://cdn.example/cat.png"]));
      });
    });

    describe("isolation", () => {
      it("hands out copies: changing a returned object changes nothing stored", async () => {
        const created = await store.createChat({ name: "Original", model: "m" });
        created.name = "Changed";
        created.messages.push({
          id: "x",
          role: "user",
          content: "injected",
          status: "complete",
          createdAt: 0,
        });

        const appended = await store.appendMessage(created.id, {
          role: "assistant",
          content: "Original",
          parts: [{ type: "text", text: "Original" }],
          usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
        });
        appended.content = "Changed";
        appended.parts?.push({ type: "image", url: "x" });
        if (appended.usage) appended.usage.inputTokens = 100;

        await store.setBinding(created.id, {
          accountId: "a",
          upstreamChatId: "u",
          lastResponseId: "r",
          syncedMessageCount: 1,
        });
        await store.setHistoryHash(created.id, "hash");
        await store.addUpstreamChat(created.id, { accountId: "a", upstreamChatId: "u" });
        const snapshot = JSON.stringify(await store.getChat(created.id));

        const fetched = await store.getChat(created.id);
        if (fetched) {
          fetched.name = "Changed";
          fetched.messages[0]!.content = "Changed";
          fetched.messages[0]!.parts![0]!.text = "Changed";
          fetched.messages.pop();
          fetched.binding!.lastResponseId = "changed";
        }
        const found = await store.findByHistoryHash("hash");
        if (found) {
          found.messages.length = 0;
          delete found.binding;
        }
        const listed = await store.listChats();
        listed.chats[0]!.name = "Changed";
        listed.chats[0]!.messageCount = 99;
        listed.chats.length = 0;
        const upstream = await store.listUpstreamChats(created.id);
        upstream[0]!.upstreamChatId = "changed";
        upstream.push({ accountId: "b", upstreamChatId: "v" });

        expect(JSON.stringify(await store.getChat(created.id))).toBe(snapshot);
        expect((await store.listChats()).chats[0]).toMatchObject({ name: "Original", messageCount: 1 });
        expect(await store.listUpstreamChats(created.id)).toEqual([{ accountId: "a", upstreamChatId: "u" }]);
      });
    });

    describe("text", () => {
      it("keeps Cyrillic, CJK, emoji and other awkward text exactly", async () => {
        const samples = unicodeSamples();
        const chat = await store.createChat({
          id: "чат-聊天-💬",
          name: samples.join(" | "),
          model: "qwen3-max",
        });
        for (const sample of samples) {
          await store.appendMessage(chat.id, {
            role: "user",
            content: sample,
            parts: [{ type: "text", text: sample }],
            reasoning: `Думаю… ${sample}`,
            error: sample,
          });
        }
        await store.setHistoryHash(chat.id, "хэш-哈希-🔑");
        await store.addUpstreamChat(chat.id, { accountId: "аккаунт", upstreamChatId: "上游-🛰️" });

        const stored = await store.getChat(chat.id);
        expect(stored?.name).toBe(samples.join(" | "));
        expect(stored?.messages.map((message) => message.content)).toEqual(samples);
        expect(stored?.messages.map((message) => message.parts?.[0]?.text)).toEqual(samples);
        expect(stored?.messages.map((message) => message.error)).toEqual(samples);
        expect(stored?.messages[2]?.reasoning).toBe(`Думаю… ${samples[2]}`);
        expect((await store.findByHistoryHash("хэш-哈希-🔑"))?.id).toBe("чат-聊天-💬");
        expect(await store.listUpstreamChats(chat.id)).toEqual([
          { accountId: "аккаунт", upstreamChatId: "上游-🛰️" },
        ]);
        expect((await store.listChats()).chats[0]?.name).toBe(samples.join(" | "));
      });
    });

    describe("closing", () => {
      it("can be closed more than once", async () => {
        await store.createChat({ name: "Chat", model: "m" });
        await store.close();
        await expect(store.close()).resolves.toBeUndefined();
      });
    });

    // A store that keeps nothing has no durability to test: those tests are not defined for it.
    const describeDurability = options.durable ? describe : (_name: string, _body: () => void) => {};
    describeDurability("durability", () => {
      it("keeps chats, messages, bindings, hashes and upstream chats across a reopen", async () => {
        const first = await chatWithHistory("first");
        const reply = await store.appendMessage(first.id, {
          role: "assistant",
          content: "Partial",
          status: "incomplete",
        });
        await store.updateMessage(first.id, reply.id, {
          content: "Partial, then whole",
          usage: { inputTokens: 4, outputTokens: 4, totalTokens: 8 },
          status: "complete",
        });
        await store.setBinding(first.id, {
          accountId: "a",
          upstreamChatId: "u1",
          lastResponseId: "r1",
          syncedMessageCount: 5,
        });
        await store.setHistoryHash(first.id, "first-hash");
        await store.addUpstreamChat(first.id, { accountId: "a", upstreamChatId: "u1" });
        await nextMillisecond();
        const second = await store.createChat({ name: "Второй 第二 ✌️", model: "qwen-plus" });
        await store.appendMessage(second.id, { role: "user", content: unicodeSamples().join("\n") });
        await store.renameChat(second.id, "Второй, переименован 🎉");

        const before = {
          first: await store.getChat(first.id),
          second: await store.getChat(second.id),
          list: await store.listChats(),
          upstream: await store.listUpstreamChats(first.id),
        };
        const reopened = await reopen();
        expect(await reopened.getChat(first.id)).toEqual(before.first);
        expect(await reopened.getChat(second.id)).toEqual(before.second);
        expect(await reopened.listChats()).toEqual(before.list);
        expect(await reopened.listUpstreamChats(first.id)).toEqual(before.upstream);
        expect(await reopened.findByHistoryHash("first-hash")).toEqual(before.first);
      });

      it("continues a chat's message order after a reopen", async () => {
        const chat = await chatWithHistory();
        const reopened = await reopen();
        await reopened.appendMessage(chat.id, { role: "assistant", content: "After the reopen" });
        const stored = await reopened.getChat(chat.id);
        expect(stored?.messages.map((message) => message.content)).toEqual([
          "Be brief.",
          "Hello",
          "Hi!",
          "How are you?",
          "After the reopen",
        ]);
      });

      it("keeps a deleted chat deleted and a cleared binding cleared after a reopen", async () => {
        const doomed = await chatWithHistory("doomed");
        await store.addUpstreamChat(doomed.id, { accountId: "a", upstreamChatId: "u" });
        const kept = await store.createChat({ name: "kept", model: "m" });
        await store.setBinding(kept.id, {
          accountId: "a",
          upstreamChatId: "u",
          lastResponseId: "r",
          syncedMessageCount: 0,
        });
        await store.setHistoryHash(kept.id, "kept-hash");
        await store.setBinding(kept.id, undefined);
        await store.setHistoryHash(kept.id, undefined);
        await store.deleteChat(doomed.id);

        const reopened = await reopen();
        expect(await reopened.getChat(doomed.id)).toBeUndefined();
        expect(await reopened.listUpstreamChats(doomed.id)).toEqual([]);
        const stored = await reopened.getChat(kept.id);
        expect(stored?.binding).toBeUndefined();
        expect(stored?.historyHash).toBeUndefined();
        expect((await reopened.listChats()).total).toBe(1);
      });
    });

    async function listedNames(): Promise<string[]> {
      return (await store.listChats()).chats.map((chat) => chat.name);
    }
  });
}

/**
 * Ordering tests need distinct timestamps, and stores keep milliseconds: waiting for the
 * clock to tick is cheaper and more honest than faking it (a database may read its own clock).
 */
async function nextMillisecond(): Promise<void> {
  const start = Date.now();
  while (Date.now() <= start) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Text that breaks naive encodings: multi-byte scripts, astral emoji, joiners, JSON and SQL. */
function unicodeSamples(): string[] {
  return [
    "Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю. Ёё",
    "你好，世界。漢字とひらがな、カタカナ。안녕하세요",
    "Emoji: 😀 👩‍👩‍👧‍👦 🧑🏽‍💻 🇷🇺 🇨🇳 ❤️‍🔥 🏳️‍🌈",
    "Combining: e\u0301 vs \u00e9; Arabic مرحبا; Hebrew שלום; Devanagari नमस्ते",
    "Controls: tab\tnewline\nreturn\r\nline separator\u2028paragraph\u2029zero width\u200bjoiner\u200d",
    `Quotes and markup: "double" 'single' \`back\` \\ backslash {"json": [1, "two"]} <b>&amp;</b>`,
    "SQL-looking: '); DROP TABLE chats; -- %_ ? :name @name $1",
    `Long: ${"Длинный текст 长文本 🧵 ".repeat(2000)}`,
  ];
}
