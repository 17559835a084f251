import { asRecord, asString } from "./json-shape.js";

/** What a chat's detail says about the media its last reply made. */
export interface ChatDetailMedia {
  /** A video task still to poll (`extra.wanx.task_id`, `extra.aipodcast.task_id`). */
  taskId?: string;
  /** Signed media URLs on Qwen's CDN, in the order they appear. */
  urls: string[];
  /** The assistant message's id: the reply's id, the parent of the next turn. */
  messageId?: string;
}

const MEDIA_URL = /https?:\/\/[^\s"'<>()\\]+\/output\/[^\s"'<>()\\]+\?key=[^\s"'<>()\\]+/g;

/**
 * Scans `GET /api/v2/chats/<id>` for the last assistant message's media, the fallback the
 * sources use when a media reply came back without its task id or URL (§4.5). The history is
 * in `data.chat.messages` (2026-08) or in the `data.chat.history.messages` map (before).
 */
export function mediaInChatDetail(detail: Record<string, unknown>): ChatDetailMedia {
  const chat = asRecord(detail.chat) ?? detail;
  const listed = Array.isArray(chat.messages) ? chat.messages : [];
  const mapped = Object.values(asRecord(asRecord(chat.history)?.messages) ?? {});
  const messages = [...listed, ...mapped].filter(
    (message) => asString(asRecord(message)?.role) === "assistant",
  );
  // The map shape names the current reply (after a regeneration it need not be the last).
  const currentId = asString(asRecord(chat.history)?.currentId);
  const current = messages.find((message) => currentId !== undefined && asRecord(message)?.id === currentId);
  const last = current ?? messages.at(-1);
  if (!last) return { urls: [] };
  const found: ChatDetailMedia = { urls: [] };
  const messageId = asString(asRecord(last)?.id);
  if (messageId) found.messageId = messageId;
  walk(last, (key, value) => {
    if (key === "task_id" && typeof value === "string" && value !== "") found.taskId ??= value;
    if (typeof value === "string") {
      for (const url of value.match(MEDIA_URL) ?? []) if (!found.urls.includes(url)) found.urls.push(url);
    }
  });
  return found;
}

/** Calls `visit` with every key and value under `value` (array items and leaves with key ""). */
function walk(value: unknown, visit: (key: string, value: unknown) => void, depth = 0): void {
  if (depth > 12) return;
  if (Array.isArray(value)) {
    for (const item of value) walk(item, visit, depth + 1);
    return;
  }
  const record = asRecord(value);
  if (!record) {
    visit("", value);
    return;
  }
  for (const [key, child] of Object.entries(record)) {
    if (typeof child !== "object" || child === null) visit(key, child);
    else walk(child, visit, depth + 1);
  }
}
