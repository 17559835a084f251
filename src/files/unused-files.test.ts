import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteChatStore } from "../store/sqlite-chat-store.js";
import { FileStore } from "./file-store.js";
import { removeUnusedFiles } from "./unused-files.js";

const DAY = 24 * 3_600_000;

describe("stored files no chat uses", () => {
  let dataDir: string;
  let store: SqliteChatStore;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "fqa-unused-"));
    store = new SqliteChatStore(join(dataDir, "chats.db"));
  });

  afterEach(async () => {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const save = (files: FileStore, text: string) =>
    files.save(new TextEncoder().encode(text), {
      name: `${text}.txt`,
      contentType: "text/plain",
      source: "test",
    });

  it("are removed once old enough; files a message names, and young ones, stay", async () => {
    const files = new FileStore(dataDir);
    const used = save(files, "used");
    const orphan = save(files, "orphan");
    const chat = await store.createChat({ name: "c", model: "m" });
    await store.appendMessage(chat.id, {
      role: "user",
      content: "see file",
      parts: [{ type: "file", url: `file:${used.id}` }],
    });

    // Young: nothing goes.
    expect(await removeUnusedFiles({ files, store, keepMs: DAY })).toEqual([]);
    // A day later the orphan goes; the used file stays however old it is.
    const later = Date.now() + DAY + 1000;
    expect(await removeUnusedFiles({ files, store, keepMs: DAY, now: later })).toEqual([orphan.id]);
    expect(files.get(orphan.id)).toBeUndefined();
    expect(files.get(used.id)?.meta.name).toBe("used.txt");

    // Deleting the chat frees its file too.
    await store.deleteChat(chat.id);
    expect(await removeUnusedFiles({ files, store, keepMs: DAY, now: later })).toEqual([used.id]);
    expect(files.list()).toEqual([]);
  });

  it("age from the last use: a file named again, by id or by its Qwen URL, starts a new day", async () => {
    const files = new FileStore(dataDir);
    const old = save(files, "old");
    const later = Date.now() + DAY + 1000;
    // Stored again (same bytes): used now, so not a day old at `later` minus a little.
    const again = save(files, "old");
    expect(again.id).toBe(old.id);
    expect(await removeUnusedFiles({ files, store, keepMs: DAY, now: Date.now() + DAY / 2 })).toEqual([]);

    // A message that names the file by the Qwen URL its upload got keeps it, across a restart.
    files.rememberUrl("https://cdn.qwenlm.ai/u1/old.txt?key=abc", old.id);
    const reopened = new FileStore(dataDir);
    const chat = await store.createChat({ name: "c", model: "m" });
    await store.appendMessage(chat.id, {
      role: "user",
      content: "that one",
      parts: [{ type: "file", url: "https://cdn.qwenlm.ai/u1/old.txt?key=other" }],
    });
    expect(await removeUnusedFiles({ files: reopened, store, keepMs: DAY, now: later + DAY })).toEqual([]);
  });

  it("the same bytes stored after a restart are the same file, not a second copy", () => {
    const first = save(new FileStore(dataDir), "again");
    const reopened = new FileStore(dataDir);
    expect(save(reopened, "again").id).toBe(first.id);
    expect(reopened.list()).toHaveLength(1);
    expect(reopened.remove(first.id)).toBe(true);
    expect(reopened.remove(first.id)).toBe(false);
    expect(save(reopened, "again").id).not.toBe(first.id);
  });
});
