import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { describeChatStoreContract } from "./chat-store-contract.js";
import { SqliteChatStore, sqliteDatabaseFileName } from "./sqlite-chat-store.js";
import { SqliteSchemaTooNewError, sqliteMigrations } from "./sqlite-migrations.js";

const temporaryDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "freeqwenapi-sqlite-"));
let databaseCount = 0;

afterAll(() => {
  fs.rmSync(temporaryDirectory, { recursive: true, force: true });
});

/** A path for a database no other test uses, inside a data directory that does not exist yet. */
function freshDatabasePath(): string {
  databaseCount++;
  return path.join(temporaryDirectory, `data-${databaseCount}`, sqliteDatabaseFileName);
}

function removeDatabase(filePath: string): void {
  fs.rmSync(path.dirname(filePath), { recursive: true, force: true });
}

/** File permissions mean nothing on Windows. */
const itOnPosix = it.skipIf(process.platform === "win32");

describeChatStoreContract(
  "SqliteChatStore on a file",
  async () => {
    const filePath = freshDatabasePath();
    return {
      store: new SqliteChatStore(filePath),
      reopen: async () => new SqliteChatStore(filePath),
      cleanup: async () => removeDatabase(filePath),
    };
  },
  { durable: true },
);

describeChatStoreContract(
  "SqliteChatStore in memory",
  async () => ({ store: new SqliteChatStore(":memory:") }),
  { durable: false },
);

describe("SqliteChatStore", () => {
  itOnPosix("creates the data directory and keeps the database readable by its owner only", async () => {
    const filePath = freshDatabasePath();
    const store = new SqliteChatStore(filePath);
    try {
      const chat = await store.createChat({ name: "Secret", model: "m" });
      await store.appendMessage(chat.id, { role: "user", content: "private" });
      expect(fs.statSync(filePath).mode & 0o777).toBe(0o600);
      // The write-ahead log holds the same private text until the next checkpoint.
      expect(fs.statSync(`${filePath}-wal`).mode & 0o777).toBe(0o600);
    } finally {
      await store.close();
      removeDatabase(filePath);
    }
  });

  itOnPosix("tightens a database file that was created world-readable", async () => {
    const filePath = freshDatabasePath();
    fs.mkdirSync(path.dirname(filePath), { recursive: true });
    fs.writeFileSync(filePath, "");
    fs.chmodSync(filePath, 0o644);
    const store = new SqliteChatStore(filePath);
    await store.close();
    expect(fs.statSync(filePath).mode & 0o777).toBe(0o600);
    removeDatabase(filePath);
  });

  it("uses WAL, and records the newest schema version", async () => {
    const filePath = freshDatabasePath();
    const store = new SqliteChatStore(filePath);
    const inspector = new Database(filePath, { readonly: true });
    try {
      expect(inspector.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(inspector.pragma("user_version", { simple: true })).toBe(sqliteMigrations.length);
    } finally {
      inspector.close();
      await store.close();
      removeDatabase(filePath);
    }
  });

  it("refuses a database written by a newer version, and leaves it alone", async () => {
    const filePath = freshDatabasePath();
    fs.mkdirSync(path.dirname(filePath), { recursive: true });
    const future = new Database(filePath);
    future.exec("CREATE TABLE from_the_future (id INTEGER PRIMARY KEY)");
    future.pragma(`user_version = ${sqliteMigrations.length + 1}`);
    future.close();

    expect(() => new SqliteChatStore(filePath)).toThrow(SqliteSchemaTooNewError);
    expect(() => new SqliteChatStore(filePath)).toThrow(/newer|only knows versions up to/);

    const inspector = new Database(filePath, { readonly: true });
    expect(inspector.pragma("user_version", { simple: true })).toBe(sqliteMigrations.length + 1);
    inspector.close();
    removeDatabase(filePath);
  });

  it("migrates an empty database once, and reopens a migrated one without touching it", async () => {
    const filePath = freshDatabasePath();
    const first = new SqliteChatStore(filePath);
    const chat = await first.createChat({ name: "Kept", model: "m" });
    await first.close();
    const second = new SqliteChatStore(filePath);
    expect((await second.getChat(chat.id))?.name).toBe("Kept");
    await second.close();
    removeDatabase(filePath);
  });

  it("keeps 200 concurrent appends to one chat in call order with gapless sequence numbers", async () => {
    const filePath = freshDatabasePath();
    const store = new SqliteChatStore(filePath);
    try {
      const chat = await store.createChat({ name: "Crowded", model: "m" });
      const contents = Array.from({ length: 200 }, (_, index) => `message ${index}`);
      await Promise.all(
        contents.map((content, index) =>
          store.appendMessage(chat.id, { role: index % 2 ? "assistant" : "user", content }),
        ),
      );
      const stored = await store.getChat(chat.id);
      expect(stored?.messages.map((message) => message.content)).toEqual(contents);

      const inspector = new Database(filePath, { readonly: true });
      const sequence = inspector
        .prepare<[string], number>("SELECT seq FROM messages WHERE chat_id = ? ORDER BY seq")
        .pluck()
        .all(chat.id);
      inspector.close();
      expect(sequence).toEqual(Array.from({ length: 200 }, (_, index) => index + 1));
    } finally {
      await store.close();
      removeDatabase(filePath);
    }
  });

  it("keeps sequence numbers gapless when two connections append to the same chat", async () => {
    const filePath = freshDatabasePath();
    const first = new SqliteChatStore(filePath);
    const second = new SqliteChatStore(filePath);
    try {
      const chat = await first.createChat({ name: "Shared", model: "m" });
      await Promise.all(
        Array.from({ length: 100 }, (_, index) =>
          (index % 2 ? second : first).appendMessage(chat.id, { role: "user", content: `${index}` }),
        ),
      );
      const stored = await second.getChat(chat.id);
      expect(stored?.messages.map((message) => message.content)).toEqual(
        Array.from({ length: 100 }, (_, index) => `${index}`),
      );
      expect((await first.listChats()).chats[0]?.messageCount).toBe(100);
    } finally {
      await first.close();
      await second.close();
      removeDatabase(filePath);
    }
  });

  it("refuses a second chat with an id already taken", async () => {
    const store = new SqliteChatStore(":memory:");
    await store.createChat({ id: "taken", name: "First", model: "m" });
    await expect(store.createChat({ id: "taken", name: "Second", model: "m" })).rejects.toThrow(
      /already exists/,
    );
    expect((await store.getChat("taken"))?.name).toBe("First");
    await store.close();
  });
});
