import { randomUUID } from "node:crypto";
import type {
  ChatRecord,
  ChatStore,
  ChatSummary,
  MessagePatch,
  NewMessage,
  StoredMessage,
  UpstreamBinding,
  UpstreamChatRef,
} from "./chat-store.js";

/** Chats in memory: gone on restart. Returns copies, so callers never mutate the store. */
export class MemoryChatStore implements ChatStore {
  readonly #chats = new Map<string, ChatRecord>();
  readonly #upstream = new Map<string, UpstreamChatRef[]>();

  async createChat(input: { name: string; model: string; id?: string }): Promise<ChatRecord> {
    if (input.id && this.#chats.has(input.id)) throw new Error(`Chat ${input.id} already exists`);
    const now = Date.now();
    const chat: ChatRecord = {
      id: input.id ?? randomUUID(),
      name: input.name,
      model: input.model,
      createdAt: now,
      updatedAt: now,
      messages: [],
    };
    this.#chats.set(chat.id, chat);
    return structuredClone(chat);
  }

  async getChat(chatId: string): Promise<ChatRecord | undefined> {
    const chat = this.#chats.get(chatId);
    return chat ? structuredClone(chat) : undefined;
  }

  async listChats(options: { limit?: number; offset?: number } = {}) {
    const all = [...this.#chats.values()].sort(
      (a, b) => b.updatedAt - a.updatedAt || b.createdAt - a.createdAt,
    );
    const offset = options.offset ?? 0;
    const page = all.slice(offset, offset + (options.limit ?? all.length));
    return { chats: page.map(summarise), total: all.length };
  }

  async findByHistoryHash(hash: string): Promise<ChatRecord | undefined> {
    let found: ChatRecord | undefined;
    for (const chat of this.#chats.values()) {
      if (chat.historyHash === hash && (!found || chat.updatedAt > found.updatedAt)) found = chat;
    }
    return found ? structuredClone(found) : undefined;
  }

  async appendMessage(chatId: string, message: NewMessage): Promise<StoredMessage> {
    const chat = this.#require(chatId);
    const stored: StoredMessage = {
      id: randomUUID(),
      createdAt: Date.now(),
      ...structuredClone(message),
      status: message.status ?? "complete",
    };
    chat.messages.push(stored);
    chat.updatedAt = Math.max(Date.now(), chat.updatedAt);
    return structuredClone(stored);
  }

  async updateMessage(chatId: string, messageId: string, patch: MessagePatch): Promise<void> {
    const chat = this.#require(chatId);
    const message = chat.messages.find((item) => item.id === messageId);
    if (!message) throw new Error(`Message ${messageId} not found in chat ${chatId}`);
    Object.assign(message, structuredClone(patch));
    chat.updatedAt = Math.max(Date.now(), chat.updatedAt);
  }

  async setBinding(chatId: string, binding: UpstreamBinding | undefined): Promise<void> {
    const chat = this.#require(chatId);
    if (binding) chat.binding = { ...binding };
    else delete chat.binding;
  }

  async setHistoryHash(chatId: string, hash: string | undefined): Promise<void> {
    const chat = this.#require(chatId);
    if (hash) chat.historyHash = hash;
    else delete chat.historyHash;
  }

  async renameChat(chatId: string, name: string): Promise<boolean> {
    const chat = this.#chats.get(chatId);
    if (!chat) return false;
    chat.name = name;
    chat.updatedAt = Date.now();
    return true;
  }

  async addUpstreamChat(chatId: string, upstream: UpstreamChatRef): Promise<void> {
    this.#require(chatId);
    const list = this.#upstream.get(chatId) ?? [];
    if (!list.some((item) => item.upstreamChatId === upstream.upstreamChatId)) list.push({ ...upstream });
    this.#upstream.set(chatId, list);
  }

  async listUpstreamChats(chatId: string): Promise<UpstreamChatRef[]> {
    return structuredClone(this.#upstream.get(chatId) ?? []);
  }

  async deleteChat(chatId: string): Promise<{ upstreamChats: UpstreamChatRef[] } | undefined> {
    if (!this.#chats.delete(chatId)) return undefined;
    const upstreamChats = this.#upstream.get(chatId) ?? [];
    this.#upstream.delete(chatId);
    return { upstreamChats };
  }

  async close(): Promise<void> {}

  async attachmentUrls(): Promise<Set<string>> {
    const urls = new Set<string>();
    for (const chat of this.#chats.values()) {
      for (const message of chat.messages) {
        for (const part of message.parts ?? [])
          if (part.url && !part.url.startsWith("data:")) urls.add(part.url);
      }
    }
    return urls;
  }

  #require(chatId: string): ChatRecord {
    const chat = this.#chats.get(chatId);
    if (!chat) throw new Error(`Chat ${chatId} not found`);
    return chat;
  }
}

function summarise(chat: ChatRecord): ChatSummary {
  return {
    id: chat.id,
    name: chat.name,
    model: chat.model,
    createdAt: chat.createdAt,
    updatedAt: chat.updatedAt,
    messageCount: chat.messages.length,
    userMessageCount: chat.messages.filter((message) => message.role === "user").length,
  };
}
