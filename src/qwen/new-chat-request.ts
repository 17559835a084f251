import type { QwenChatType } from "./chat-types.js";
import { isRecord } from "./json-shape.js";

export interface NewChatInput {
  model: string;
  chatType?: QwenChatType;
  title?: string;
}

/** Body of `POST /api/v2/chats/new` (§3.1). */
export function buildNewChatBody(input: NewChatInput, now: number = Date.now()): Record<string, unknown> {
  return {
    title: input.title ?? "New Chat",
    models: [input.model],
    chat_mode: "normal",
    chat_type: input.chatType ?? "t2t",
    timestamp: now,
    project_id: "",
  };
}

/**
 * The chat id from a `chats/new` answer. Sources disagree on where it lives, so every place
 * seen is tried: `data.id`, `id`, `data.chat.id`.
 */
export function readNewChatId(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const data = body.data;
  const candidates = [
    isRecord(data) ? data.id : undefined,
    body.id,
    isRecord(data) && isRecord(data.chat) ? data.chat.id : undefined,
  ];
  return candidates.find((value): value is string => typeof value === "string" && value.length > 0);
}
