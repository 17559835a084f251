import { QwenError } from "../errors.js";
import type { QwenEvent } from "../events.js";
import { mediaInChatDetail } from "../qwen/chat-detail-media.js";
import type { QwenChatType } from "../qwen/chat-types.js";
import type { QwenClient } from "../qwen/client.js";

export interface MediaFallbackOptions {
  client: QwenClient;
  /** The upstream chat the reply belongs to. */
  chatId: string;
  chatType: QwenChatType;
  /** The reply this turn continues (its parent_id): the detail's last reply may be that one. */
  previousResponseId?: string | null;
  signal?: AbortSignal;
}

/** Chat types whose reply is a generated file rather than text. */
const MEDIA_CHAT_TYPES: ReadonlySet<string> = new Set(["t2i", "t2v", "image_edit"]);

export function isMediaChatType(chatType: QwenChatType): boolean {
  return MEDIA_CHAT_TYPES.has(chatType);
}

/**
 * A media reply that came back without its task id or URL (some accounts get empty video
 * answers, §4.5) is looked up in the upstream chat's detail, as the sources do, before it
 * counts as a failure. Text replies pass through untouched.
 */
export async function* withMediaFallback(
  events: AsyncIterable<QwenEvent>,
  options: MediaFallbackOptions,
): AsyncGenerator<QwenEvent> {
  if (!MEDIA_CHAT_TYPES.has(options.chatType)) {
    yield* events;
    return;
  }
  let produced = false;
  let identified: string | undefined;
  try {
    for await (const event of events) {
      if (event.type === "image" || event.type === "video-task" || event.type === "text-delta")
        produced = true;
      if (event.type === "response-created") identified = event.responseId;
      yield event;
    }
    return;
  } catch (error) {
    const unreadable =
      error instanceof QwenError && (error.code === "empty_response" || error.code === "invalid_response");
    if (produced || !unreadable) throw error;
    const found = await lookUp(options).catch(() => undefined);
    // Only this turn's reply counts: not the one it continues, not another than upstream named.
    const stale =
      found?.messageId !== undefined &&
      (found.messageId === options.previousResponseId ||
        (identified !== undefined && found.messageId !== identified));
    if (!found || stale) throw error;
    // The reply's id lets the next turn continue this upstream chat.
    if (identified === undefined && found.messageId) {
      yield { type: "response-created", responseId: found.messageId, parentId: null };
    }
    yield* found.events;
  }
}

async function lookUp(
  options: MediaFallbackOptions,
): Promise<{ events: QwenEvent[]; messageId?: string } | undefined> {
  const media = mediaInChatDetail(await options.client.getChat(options.chatId, { signal: options.signal }));
  const { messageId } = media;
  if (media.taskId) return { events: [{ type: "video-task", taskId: media.taskId }], messageId };
  if (media.urls.length === 0) return undefined;
  // A video is answered with its URL, as a finished task is; images as images.
  const events: QwenEvent[] =
    options.chatType === "t2v"
      ? [{ type: "text-delta", text: media.urls[0]! }]
      : media.urls.map((url): QwenEvent => ({ type: "image", url }));
  events.push({ type: "finish", reason: "stop" });
  return { events, messageId };
}
