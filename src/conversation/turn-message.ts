import { createHash } from "node:crypto";
import type { MessageRole, StoredMessage } from "../store/chat-store.js";

/** A message reduced to what matters for context: role, text and attachments. */
export interface TurnMessage {
  role: MessageRole;
  text: string;
  /**
   * What is attached: `file:<id>` for files the proxy keeps (uploaded, decoded, downloaded),
   * or a URL Qwen serves itself. Earlier messages may still hold what the client sent.
   */
  attachments: string[];
}

/**
 * Some clients echo a reply back with its reasoning in `<think>` tags (the think-tags
 * format), re-spaced, or without the images; none of that should make a continuation look
 * like a new history.
 */
export function normaliseText(role: MessageRole, text: string): string {
  const reply = role === "assistant" ? stripThinking(text).replace(/!\[[^\]]*\]\([^)]*\)/g, "") : text;
  return reply.replace(/\s+/g, " ").trim();
}

/** A reply without the `<think>` block some clients keep in front of it. */
export function stripThinking(text: string): string {
  return text.replace(/^\s*<think>[\s\S]*?<\/think>/, "").trim();
}

/** Identity of a history: the same messages (after normalising) give the same hash. */
export function hashHistory(messages: readonly TurnMessage[]): string {
  const hash = createHash("sha256");
  for (const message of messages) {
    hash.update(message.role);
    hash.update("\u0000");
    hash.update(normaliseText(message.role, message.text));
    // Attachments are left out: the client echoes its own URLs, the store keeps file refs.
    hash.update("\u0002");
  }
  return hash.digest("hex");
}

/**
 * The conversation a stored chat stands for: system messages, and each user message whose
 * reply completed, with that reply. Failed and cut-off turns are left out, as upstream's
 * thread never finished them either.
 */
export function storedHistory(messages: readonly StoredMessage[]): TurnMessage[] {
  const history: TurnMessage[] = [];
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index]!;
    if (message.role === "system") history.push(toTurnMessage(message));
    if (message.role !== "user") continue;
    const reply = messages[index + 1];
    if (reply?.role === "assistant" && reply.status === "complete") {
      history.push(toTurnMessage(message), toTurnMessage(reply));
      index++;
    }
  }
  return history;
}

function toTurnMessage(message: StoredMessage): TurnMessage {
  const attachments = (message.parts ?? [])
    .filter((part) => part.type !== "text" && part.url)
    .map((part) => part.url!);
  return { role: message.role, text: message.content, attachments };
}
