import { randomUUID } from "node:crypto";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { TokenUsage } from "../events.js";
import type {
  ChatRecord,
  ChatStore,
  ChatSummary,
  MessagePart,
  MessagePatch,
  MessageRole,
  MessageStatus,
  NewMessage,
  StoredMessage,
  UpstreamBinding,
  UpstreamChatRef,
} from "./chat-store.js";
import { migrateSqliteDatabase } from "./sqlite-migrations.js";

/** The file name inside DATA_DIR. */
export const sqliteDatabaseFileName = "freeqwenapi.db";

export interface SqliteChatStoreOptions {
  /** How long a write waits for another connection's lock before failing with SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

interface ChatRow {
  id: string;
  name: string;
  model: string;
  created_at: number;
  updated_at: number;
  history_hash: string | null;
  binding: string | null;
}

interface SummaryRow {
  id: string;
  name: string;
  model: string;
  created_at: number;
  updated_at: number;
  message_count: number;
  user_message_count: number;
}

interface MessageRow {
  id: string;
  role: MessageRole;
  content: string;
  parts: string | null;
  reasoning: string | null;
  model: string | null;
  usage: string | null;
  status: MessageStatus;
  error: string | null;
  created_at: number;
}

interface UpstreamChatRow {
  account_id: string;
  upstream_chat_id: string;
}

interface MessageInsert {
  id: string;
  chatId: string;
  role: MessageRole;
  content: string;
  parts: string | null;
  reasoning: string | null;
  model: string | null;
  usage: string | null;
  status: MessageStatus;
  error: string | null;
  createdAt: number;
}

/** Every field of a patch comes with a flag, so one prepared statement serves any patch. */
interface MessageUpdate {
  id: string;
  chatId: string;
  setContent: number;
  content: string | null;
  setReasoning: number;
  reasoning: string | null;
  setUsage: number;
  usage: string | null;
  setStatus: number;
  status: string | null;
  setError: number;
  error: string | null;
}

// rowid breaks ties between equal timestamps, so pages never overlap or skip a chat. Ascending,
// because that is how the descending index already holds equal keys (no sort step), and it
// keeps ties in creation order, as the memory store's stable sort does.
const NEWEST_FIRST = "ORDER BY updated_at DESC, created_at DESC, rowid";

function prepareStatements(database: Database.Database) {
  return {
    insertChat: database.prepare<{ id: string; name: string; model: string; now: number }>(
      "INSERT INTO chats (id, name, model, created_at, updated_at) VALUES (@id, @name, @model, @now, @now)",
    ),
    selectChat: database.prepare<[string], ChatRow>(
      "SELECT id, name, model, created_at, updated_at, history_hash, binding FROM chats WHERE id = ?",
    ),
    selectMessages: database.prepare<[string], MessageRow>(
      `SELECT id, role, content, parts, reasoning, model, usage, status, error, created_at
       FROM messages WHERE chat_id = ? ORDER BY seq`,
    ),
    countChats: database.prepare<[], number>("SELECT COUNT(*) FROM chats").pluck(),
    selectSummaries: database.prepare<{ limit: number; offset: number }, SummaryRow>(
      `SELECT id, name, model, created_at, updated_at,
         (SELECT COUNT(*) FROM messages WHERE chat_id = chats.id) AS message_count,
         (SELECT COUNT(*) FROM messages WHERE chat_id = chats.id AND role = 'user') AS user_message_count
       FROM chats ${NEWEST_FIRST} LIMIT @limit OFFSET @offset`,
    ),
    selectChatIdByHistoryHash: database
      .prepare<[string], string>(`SELECT id FROM chats WHERE history_hash = ? ${NEWEST_FIRST} LIMIT 1`)
      .pluck(),
    // MAX keeps updated_at from going backwards if the clock does.
    touchChat: database.prepare<{ id: string; now: number }>(
      "UPDATE chats SET updated_at = MAX(updated_at, @now) WHERE id = @id",
    ),
    renameChat: database.prepare<{ id: string; name: string; now: number }>(
      "UPDATE chats SET name = @name, updated_at = MAX(updated_at, @now) WHERE id = @id",
    ),
    setBinding: database.prepare<[string | null, string]>("UPDATE chats SET binding = ? WHERE id = ?"),
    setHistoryHash: database.prepare<[string | null, string]>(
      "UPDATE chats SET history_hash = ? WHERE id = ?",
    ),
    deleteChat: database.prepare<[string]>("DELETE FROM chats WHERE id = ?"),
    // Only the URLs, each once, without loading whole parts (data: URIs can be megabytes).
    selectPartUrls: database
      .prepare<[], string>(
        `SELECT DISTINCT json_extract(part.value, '$.url') AS url
         FROM messages, json_each(messages.parts) AS part
         WHERE messages.parts IS NOT NULL AND url IS NOT NULL AND url NOT LIKE 'data:%'`,
      )
      .pluck(),
    chatExists: database.prepare<[string], number>("SELECT 1 FROM chats WHERE id = ?").pluck(),
    // The next seq is computed inside the INSERT, so it cannot race with another append.
    insertMessage: database.prepare<MessageInsert>(
      `INSERT INTO messages
         (id, chat_id, seq, role, content, parts, reasoning, model, usage, status, error, created_at)
       SELECT @id, @chatId, COALESCE(MAX(seq), 0) + 1, @role, @content, @parts, @reasoning, @model,
         @usage, @status, @error, @createdAt
       FROM messages WHERE chat_id = @chatId`,
    ),
    updateMessage: database.prepare<MessageUpdate>(
      `UPDATE messages SET
         content = IIF(@setContent, @content, content),
         reasoning = IIF(@setReasoning, @reasoning, reasoning),
         usage = IIF(@setUsage, @usage, usage),
         status = IIF(@setStatus, @status, status),
         error = IIF(@setError, @error, error)
       WHERE id = @id AND chat_id = @chatId`,
    ),
    insertUpstreamChat: database.prepare<{
      chatId: string;
      accountId: string;
      upstreamChatId: string;
      now: number;
    }>(
      `INSERT INTO upstream_chats (chat_id, account_id, upstream_chat_id, created_at)
       VALUES (@chatId, @accountId, @upstreamChatId, @now)
       ON CONFLICT (chat_id, upstream_chat_id) DO NOTHING`,
    ),
    selectUpstreamChats: database.prepare<[string], UpstreamChatRow>(
      "SELECT account_id, upstream_chat_id FROM upstream_chats WHERE chat_id = ? ORDER BY rowid",
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * Chats in one SQLite file (or in memory with ":memory:"). better-sqlite3 is synchronous, so
 * each method runs to completion before the next starts; transactions still matter for other
 * processes sharing the file and for all-or-nothing writes. Every read builds new objects,
 * so callers can never reach stored state.
 */
export class SqliteChatStore implements ChatStore {
  readonly #database: Database.Database;
  readonly #statements: Statements;
  readonly #readChat: (chatId: string) => ChatRecord | undefined;
  readonly #listChats: (limit: number, offset: number) => { chats: ChatSummary[]; total: number };
  readonly #findByHistoryHash: (hash: string) => ChatRecord | undefined;
  readonly #appendMessage: (chatId: string, message: MessageInsert) => void;
  readonly #updateMessage: (update: MessageUpdate) => void;
  readonly #addUpstreamChat: (chatId: string, upstream: UpstreamChatRef) => void;
  readonly #deleteChat: (chatId: string) => UpstreamChatRef[] | undefined;

  constructor(filePath: string, options: SqliteChatStoreOptions = {}) {
    if (!isInMemory(filePath)) prepareDatabaseFile(filePath);
    // better-sqlite3's `timeout` is SQLite's busy_timeout.
    const database = new Database(filePath, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      database.pragma("journal_mode = WAL");
      database.pragma("foreign_keys = ON");
      // In WAL mode NORMAL cannot corrupt the file; a power cut may only lose the last commits.
      database.pragma("synchronous = NORMAL");
      migrateSqliteDatabase(database, filePath);
      this.#statements = prepareStatements(database);
    } catch (error) {
      database.close();
      throw error;
    }
    this.#database = database;
    const statements = this.#statements;

    // Reads run in a transaction too, so a chat and its messages come from one snapshot
    // even while another process writes.
    const readChat = (chatId: string): ChatRecord | undefined => {
      const row = statements.selectChat.get(chatId);
      if (!row) return undefined;
      return chatFromRow(row, statements.selectMessages.all(chatId).map(messageFromRow));
    };
    this.#readChat = database.transaction(readChat);

    this.#listChats = database.transaction((limit: number, offset: number) => ({
      chats: statements.selectSummaries.all({ limit, offset }).map(summaryFromRow),
      total: statements.countChats.get() ?? 0,
    }));

    this.#findByHistoryHash = database.transaction((hash: string) => {
      const chatId = statements.selectChatIdByHistoryHash.get(hash);
      return chatId === undefined ? undefined : readChat(chatId);
    });

    // Writes take the lock up front (immediate): a read lock upgraded later can deadlock
    // against another writer and fail with SQLITE_BUSY regardless of busy_timeout.
    const appendMessage = database.transaction((chatId: string, message: MessageInsert) => {
      if (statements.touchChat.run({ id: chatId, now: message.createdAt }).changes === 0) {
        throw chatNotFound(chatId);
      }
      statements.insertMessage.run(message);
    });
    this.#appendMessage = appendMessage.immediate;

    const updateMessage = database.transaction((update: MessageUpdate) => {
      if (statements.updateMessage.run(update).changes === 0) {
        throw new Error(`Message ${update.id} not found in chat ${update.chatId}`);
      }
      statements.touchChat.run({ id: update.chatId, now: Date.now() });
    });
    this.#updateMessage = updateMessage.immediate;

    const addUpstreamChat = database.transaction((chatId: string, upstream: UpstreamChatRef) => {
      if (statements.chatExists.get(chatId) === undefined) throw chatNotFound(chatId);
      statements.insertUpstreamChat.run({
        chatId,
        accountId: upstream.accountId,
        upstreamChatId: upstream.upstreamChatId,
        now: Date.now(),
      });
    });
    this.#addUpstreamChat = addUpstreamChat.immediate;

    const deleteChat = database.transaction((chatId: string) => {
      const upstreamChats = statements.selectUpstreamChats.all(chatId).map(upstreamChatFromRow);
      // Messages and upstream chats go with the chat through ON DELETE CASCADE.
      if (statements.deleteChat.run(chatId).changes === 0) return undefined;
      return upstreamChats;
    });
    this.#deleteChat = deleteChat.immediate;
  }

  async createChat(input: { name: string; model: string; id?: string }): Promise<ChatRecord> {
    const id = input.id ?? randomUUID();
    const now = Date.now();
    try {
      this.#statements.insertChat.run({ id, name: input.name, model: input.model, now });
    } catch (error) {
      if (isSqliteError(error, "SQLITE_CONSTRAINT_PRIMARYKEY")) {
        throw new Error(`Chat ${id} already exists`, { cause: error });
      }
      throw error;
    }
    return { id, name: input.name, model: input.model, createdAt: now, updatedAt: now, messages: [] };
  }

  async getChat(chatId: string): Promise<ChatRecord | undefined> {
    return this.#readChat(chatId);
  }

  async listChats(options: { limit?: number; offset?: number } = {}) {
    // SQLite reads a negative LIMIT as "no limit".
    const limit = options.limit === undefined ? -1 : wholeNumber(options.limit);
    return this.#listChats(limit, wholeNumber(options.offset ?? 0));
  }

  async findByHistoryHash(hash: string): Promise<ChatRecord | undefined> {
    return this.#findByHistoryHash(hash);
  }

  async appendMessage(chatId: string, message: NewMessage): Promise<StoredMessage> {
    const row: MessageInsert = {
      id: randomUUID(),
      chatId,
      role: message.role,
      content: message.content,
      parts: toJson(message.parts),
      reasoning: message.reasoning ?? null,
      model: message.model ?? null,
      usage: toJson(message.usage),
      status: message.status ?? "complete",
      error: message.error ?? null,
      createdAt: Date.now(),
    };
    this.#appendMessage(chatId, row);
    // Built from the serialised row, so the caller's objects and the result never alias.
    return messageFromRow({ ...row, created_at: row.createdAt });
  }

  /**
   * A key present in the patch is written, even when its value is undefined: that clears
   * reasoning, usage or error. content and status cannot be cleared, so undefined keeps them.
   */
  async updateMessage(chatId: string, messageId: string, patch: MessagePatch): Promise<void> {
    const hasContent = "content" in patch && patch.content !== undefined;
    const hasStatus = "status" in patch && patch.status !== undefined;
    this.#updateMessage({
      id: messageId,
      chatId,
      setContent: hasContent ? 1 : 0,
      content: patch.content ?? null,
      setReasoning: "reasoning" in patch ? 1 : 0,
      reasoning: patch.reasoning ?? null,
      setUsage: "usage" in patch ? 1 : 0,
      usage: toJson(patch.usage),
      setStatus: hasStatus ? 1 : 0,
      status: patch.status ?? null,
      setError: "error" in patch ? 1 : 0,
      error: patch.error ?? null,
    });
  }

  async setBinding(chatId: string, binding: UpstreamBinding | undefined): Promise<void> {
    if (this.#statements.setBinding.run(toJson(binding), chatId).changes === 0) throw chatNotFound(chatId);
  }

  async setHistoryHash(chatId: string, hash: string | undefined): Promise<void> {
    // An empty hash clears too, as in the memory store: no history hashes to "".
    if (this.#statements.setHistoryHash.run(hash || null, chatId).changes === 0) throw chatNotFound(chatId);
  }

  async addUpstreamChat(chatId: string, upstream: UpstreamChatRef): Promise<void> {
    this.#addUpstreamChat(chatId, upstream);
  }

  async listUpstreamChats(chatId: string): Promise<UpstreamChatRef[]> {
    return this.#statements.selectUpstreamChats.all(chatId).map(upstreamChatFromRow);
  }

  async renameChat(chatId: string, name: string): Promise<boolean> {
    return this.#statements.renameChat.run({ id: chatId, name, now: Date.now() }).changes > 0;
  }

  async attachmentUrls(): Promise<Set<string>> {
    return new Set(this.#statements.selectPartUrls.all());
  }

  async deleteChat(chatId: string): Promise<{ upstreamChats: UpstreamChatRef[] } | undefined> {
    const upstreamChats = this.#deleteChat(chatId);
    return upstreamChats === undefined ? undefined : { upstreamChats };
  }

  async close(): Promise<void> {
    if (this.#database.open) this.#database.close();
  }
}

function isInMemory(filePath: string): boolean {
  return filePath === ":memory:" || filePath === "";
}

/**
 * Creates the directory and an empty file with mode 0600 before SQLite opens it: SQLite
 * creates files with the process umask (often world-readable) but gives the -wal and -shm
 * files the mode of the database file, so tightening the database covers all three.
 */
function prepareDatabaseFile(filePath: string): void {
  mkdirSync(dirname(filePath), { recursive: true, mode: 0o700 });
  closeSync(openSync(filePath, "a", 0o600));
  for (const path of [filePath, `${filePath}-wal`, `${filePath}-shm`]) {
    if (existsSync(path)) chmodSync(path, 0o600);
  }
}

function chatNotFound(chatId: string): Error {
  return new Error(`Chat ${chatId} not found`);
}

function isSqliteError(error: unknown, code: string): boolean {
  return error instanceof Database.SqliteError && error.code === code;
}

function wholeNumber(value: number): number {
  return Number.isFinite(value) ? Math.max(0, Math.trunc(value)) : 0;
}

function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function chatFromRow(row: ChatRow, messages: StoredMessage[]): ChatRecord {
  const chat: ChatRecord = {
    id: row.id,
    name: row.name,
    model: row.model,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    messages,
  };
  if (row.binding !== null) chat.binding = JSON.parse(row.binding) as UpstreamBinding;
  if (row.history_hash !== null) chat.historyHash = row.history_hash;
  return chat;
}

function messageFromRow(row: MessageRow): StoredMessage {
  const message: StoredMessage = {
    id: row.id,
    role: row.role,
    content: row.content,
    status: row.status,
    createdAt: row.created_at,
  };
  if (row.parts !== null) message.parts = JSON.parse(row.parts) as MessagePart[];
  if (row.reasoning !== null) message.reasoning = row.reasoning;
  if (row.model !== null) message.model = row.model;
  if (row.usage !== null) message.usage = JSON.parse(row.usage) as TokenUsage;
  if (row.error !== null) message.error = row.error;
  return message;
}

function summaryFromRow(row: SummaryRow): ChatSummary {
  return {
    id: row.id,
    name: row.name,
    model: row.model,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    messageCount: row.message_count,
    userMessageCount: row.user_message_count,
  };
}

function upstreamChatFromRow(row: UpstreamChatRow): UpstreamChatRef {
  return { accountId: row.account_id, upstreamChatId: row.upstream_chat_id };
}
