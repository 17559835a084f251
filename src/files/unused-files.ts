import type { ChatStore } from "../store/chat-store.js";
import type { FileStore } from "./file-store.js";

export interface UnusedFilesOptions {
  files: FileStore;
  store: ChatStore;
  /** A file no stored message refers to is kept this long after it was stored, ms. */
  keepMs: number;
  now?: number;
}

/**
 * Deletes the stored files no chat refers to any more (their chats were deleted or cleaned
 * up, or an upload was never used) once they are older than `keepMs`. A file a message still
 * names is never touched. Returns the ids removed.
 */
export async function removeUnusedFiles(options: UnusedFilesOptions): Promise<string[]> {
  const now = options.now ?? Date.now();
  const inUse = new Set<string>();
  for (const url of await options.store.attachmentUrls()) {
    // By id, or by the Qwen URL an upload of it got (clients send those back too).
    const id = url.startsWith("file:") ? url.slice("file:".length) : options.files.findByUrl(url);
    if (id) inUse.add(id.toLowerCase());
  }
  const removed: string[] = [];
  for (const file of options.files.list()) {
    if (inUse.has(file.id.toLowerCase())) continue;
    // Aged from its last use: a file stored long ago and named again today is not unused.
    const times = [file.createdAt, file.usedAt]
      .map((time) => Date.parse(time ?? ""))
      .filter((time) => !Number.isNaN(time));
    if (times.length === 0 || now - Math.max(...times) < options.keepMs) continue;
    if (options.files.remove(file.id)) removed.push(file.id);
  }
  return removed;
}
