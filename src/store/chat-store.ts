import type { TokenUsage } from "../events.js";

/** A message as the local store keeps it: the source of truth for a chat's history. */
export type MessageRole = "system" | "user" | "assistant";

/**
 * complete: a finished message. incomplete: an assistant reply cut off (crash, disconnect,
 * upstream failure mid-answer); kept so nothing shown to the user is lost.
 * failed: the turn produced no reply; the message records the error.
 */
export type MessageStatus = "complete" | "incomplete" | "failed";

export interface MessagePart {
  type: "text" | "image" | "file";
  text?: string;
  /** For images and files: where the content lives. */
  url?: string;
}

export interface StoredMessage {
  id: string;
  role: MessageRole;
  /** The text of the message (text parts joined). */
  content: string;
  /** The full parts, when the message had more than text. */
  parts?: MessagePart[];
  reasoning?: string;
  model?: string;
  usage?: TokenUsage;
  status: MessageStatus;
  error?: string;
  createdAt: number;
}

/** Where a local chat lives upstream: one thread of one account. */
export interface UpstreamBinding {
  accountId: string;
  upstreamChatId: string;
  /** The `response_id` to send as `parent_id` next turn. */
  lastResponseId: string;
  /** How many local messages that thread has seen; continuation needs all of them. */
  syncedMessageCount: number;
}

export interface ChatRecord {
  id: string;
  name: string;
  model: string;
  createdAt: number;
  updatedAt: number;
  messages: StoredMessage[];
  binding?: UpstreamBinding;
  /** Hash of the normalised complete history, to recognise OpenAI-style continuations. */
  historyHash?: string;
}

export interface ChatSummary extends Pick<ChatRecord, "id" | "name" | "model" | "createdAt" | "updatedAt"> {
  messageCount: number;
  userMessageCount: number;
}

/** A message to append: the store gives it its id and time; the status defaults to complete. */
export type NewMessage = Omit<StoredMessage, "id" | "createdAt" | "status"> & { status?: MessageStatus };

export type MessagePatch = Partial<
  Pick<StoredMessage, "content" | "reasoning" | "usage" | "status" | "error">
>;

/** An upstream chat a local chat has used; deleted upstream when the local chat goes. */
export interface UpstreamChatRef {
  accountId: string;
  upstreamChatId: string;
}

/**
 * Persistence of chats. An in-memory implementation serves tests and the first releases;
 * SQLite and Postgres implementations satisfy the same contract.
 */
export interface ChatStore {
  /** Throws when `id` is given and already taken. */
  createChat(input: { name: string; model: string; id?: string }): Promise<ChatRecord>;
  getChat(chatId: string): Promise<ChatRecord | undefined>;
  listChats(options?: { limit?: number; offset?: number }): Promise<{ chats: ChatSummary[]; total: number }>;
  findByHistoryHash(hash: string): Promise<ChatRecord | undefined>;
  appendMessage(chatId: string, message: NewMessage): Promise<StoredMessage>;
  /** A field present in the patch with the value `undefined` is cleared. */
  updateMessage(chatId: string, messageId: string, patch: MessagePatch): Promise<void>;
  setBinding(chatId: string, binding: UpstreamBinding | undefined): Promise<void>;
  setHistoryHash(chatId: string, hash: string | undefined): Promise<void>;
  /** Remembers an upstream chat this local chat used (idempotent). */
  addUpstreamChat(chatId: string, upstream: UpstreamChatRef): Promise<void>;
  listUpstreamChats(chatId: string): Promise<UpstreamChatRef[]>;
  renameChat(chatId: string, name: string): Promise<boolean>;
  /** Deletes the chat with its messages; returns the upstream chats it had, or undefined if unknown. */
  deleteChat(chatId: string): Promise<{ upstreamChats: UpstreamChatRef[] } | undefined>;
  /** Every part URL of every stored message (`file:<id>` refs among them), each once; inline `data:` URIs are left out. */
  attachmentUrls(): Promise<Set<string>>;
  close(): Promise<void>;
}
