import { randomUUID } from "node:crypto";
import type { QwenFileAttachment } from "./chat-types.js";

/** What the web app calls the file in `type`/`showType` and in getstsToken's `filetype`. */
export type UploadKind = "image" | "video" | "audio" | "file";

/** `file_class` of an attachment: images are "vision", anything not media is a "document". */
export type FileClass = "vision" | "video" | "audio" | "document";

const FILE_CLASS_BY_KIND: Record<UploadKind, FileClass> = {
  image: "vision",
  video: "video",
  audio: "audio",
  file: "document",
};

export function uploadKindOf(contentType: string): UploadKind {
  const type = contentType.trim().toLowerCase();
  if (type.startsWith("image/")) return "image";
  if (type.startsWith("video/")) return "video";
  if (type.startsWith("audio/")) return "audio";
  return "file";
}

export function fileClassOf(kind: UploadKind): FileClass {
  return FILE_CLASS_BY_KIND[kind];
}

export interface FileAttachmentInput {
  fileId: string;
  url: string;
  name: string;
  size: number;
  contentType: string;
  kind: UploadKind;
  userId?: string;
  /** Upload time; tests pin it. */
  nowMs?: number;
}

/**
 * The `files[]` entry exactly as the web app builds it after an upload (protocol notes §3.4,
 * where S6, S8 and S9 agree). Fields upstream may not read are kept anyway: an attachment
 * that looks like the browser's is the least likely to be treated differently.
 */
export function buildFileAttachment(input: FileAttachmentInput): QwenFileAttachment {
  const nowMs = input.nowMs ?? Date.now();
  const file: Record<string, unknown> = {
    created_at: nowMs,
    data: {},
    filename: input.name,
    hash: null,
    id: input.fileId,
    ...(input.userId ? { user_id: input.userId } : {}),
    meta: {
      name: input.name,
      size: input.size,
      content_type: input.contentType,
      // Images are not parsed, yet the web app reports them as parsed too.
      parse_meta: { parse_status: "success" },
    },
    update_at: nowMs,
  };
  return {
    type: input.kind,
    file,
    id: input.fileId,
    url: input.url,
    name: input.name,
    collection_name: "",
    progress: 0,
    status: "uploaded",
    greenNet: "success",
    size: input.size,
    error: "",
    itemId: randomUUID(),
    file_type: input.contentType,
    showType: input.kind,
    file_class: fileClassOf(input.kind),
    uploadTaskId: randomUUID(),
  };
}
