/** Upstream chat modes (protocol notes §6). `image_gen` is not one: upstream rejects it. */
export type QwenChatType = "t2t" | "search" | "t2i" | "t2v" | "image_edit" | "deep_research";

/** Aspect ratios upstream accepts for images and videos. */
const ASPECT_RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4"] as const;
export type QwenAspectRatio = (typeof ASPECT_RATIOS)[number];

/** A client's `size` when it is a ratio upstream accepts; anything else is left to upstream's default. */
export function readAspectRatio(size: string | null | undefined): QwenAspectRatio | undefined {
  return ASPECT_RATIOS.find((ratio) => ratio === size);
}

/** Video is the one mode that must not stream; text modes must. */
export function streamsFor(chatType: QwenChatType): boolean {
  return chatType !== "t2v";
}

/** Content of the single upstream message: plain text, or parts. */
export type QwenContentPart =
  | { type: "text"; text: string }
  | { type: "image"; image: string }
  | { type: "video"; video: string }
  | { type: "file"; file: string };

/** An attachment for `files[]`, as the web app builds it after an upload (§3.4). */
export type QwenFileAttachment = Record<string, unknown>;
