import type { QwenContentPart } from "../qwen/chat-types.js";
import { stripThinking, type TurnMessage } from "./turn-message.js";

/**
 * Upstream takes one message per request, so a conversation it has not seen (a new chat,
 * another account, an edited history) is folded into that one message: system instructions
 * first, then the earlier turns, then the new message, each clearly labelled.
 */
export function foldHistory(history: readonly TurnMessage[], message: TurnMessage): string {
  const system = history
    .filter((item) => item.role === "system")
    .map((item) => item.text.trim())
    .filter((text) => text !== "");
  const turns = history.filter((item) => item.role !== "system");
  if (system.length === 0 && turns.length === 0) return message.text;

  const sections: string[] = [];
  if (system.length > 0) sections.push(`[System instructions]\n${system.join("\n\n")}`);
  if (turns.length > 0) {
    const lines = turns.map((item) => {
      const speaker = item.role === "assistant" ? "Assistant" : "User";
      const attached = item.attachments.map((ref) => `\n[attachment: ${describeAttachment(ref)}]`).join("");
      return `${speaker}: ${item.role === "assistant" ? stripThinking(item.text) : item.text.trim()}${attached}`;
    });
    sections.push(`[Conversation so far]\n${lines.join("\n\n")}`);
    sections.push(`[Current message from the user — reply to this]\n${message.text}`);
  } else {
    sections.push(message.text);
  }
  return sections.join("\n\n");
}

/** The upstream content: plain text, or text and image parts when images are attached. */
export function toUpstreamContent(text: string, images: readonly string[]): string | QwenContentPart[] {
  if (images.length === 0) return text;
  return [{ type: "text", text }, ...images.map((image): QwenContentPart => ({ type: "image", image }))];
}

/** An earlier attachment as folded text: its URL, never a data: URI's bulk. */
export function describeAttachment(ref: string): string {
  if (ref.startsWith("data:")) return "an inline file";
  if (ref.startsWith("file:")) return `file ${ref.slice(5)}`;
  return ref;
}
