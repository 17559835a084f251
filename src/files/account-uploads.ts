import type { Account } from "../accounts/account-pool.js";
import { InputError } from "../errors.js";
import type { QwenFileAttachment } from "../qwen/chat-types.js";
import type { UploadedFile } from "../qwen/upload-file.js";
import type { FileStore } from "./file-store.js";
import { parseAttachmentRef } from "./ingest.js";

export interface PreparedAttachments {
  /** Uploaded files, for the completion's `files[]`. */
  files: QwenFileAttachment[];
  /** URLs Qwen serves itself, sent as image parts. */
  imageUrls: string[];
}

/** How long an upload is reused: upstream's file URLs are signed and do not live forever. */
const REUSE_MS = 6 * 3_600_000;

/**
 * Uploads a turn's files to the account that runs it. Files belong to an account upstream,
 * so a chat that moves to another account uploads them again there; the same bytes on the
 * same account are uploaded once (keyed by SHA-256).
 */
export class AccountUploads {
  readonly #files: FileStore;
  readonly #uploads = new Map<string, { uploaded: Promise<UploadedFile>; at: number }>();

  constructor(files: FileStore) {
    this.#files = files;
  }

  async prepare(
    refs: readonly string[],
    account: Account,
    signal?: AbortSignal,
  ): Promise<PreparedAttachments> {
    const prepared: PreparedAttachments = { files: [], imageUrls: [] };
    for (const ref of refs) {
      const parsed = parseAttachmentRef(ref);
      if ("url" in parsed) {
        prepared.imageUrls.push(parsed.url);
        continue;
      }
      const uploaded = await this.#upload(parsed.fileId, account, signal);
      prepared.files.push(uploaded.attachment);
    }
    return prepared;
  }

  /** Uploads a stored file now (the upload endpoint), returning what upstream made of it. */
  async upload(fileId: string, account: Account, signal?: AbortSignal): Promise<UploadedFile> {
    return this.#upload(fileId, account, signal);
  }

  #upload(fileId: string, account: Account, signal: AbortSignal | undefined): Promise<UploadedFile> {
    const meta = this.#files.meta(fileId);
    if (!meta) throw new InputError(`No stored file ${fileId}`, { status: 404, code: "file_not_found" });
    const key = `${account.id}:${meta.sha256}`;
    const cached = this.#uploads.get(key);
    if (cached && Date.now() - cached.at < REUSE_MS) return cached.uploaded;
    const stored = this.#files.get(fileId)!;
    const uploaded = account.client
      .uploadFile({ bytes: stored.bytes, filename: meta.name, contentType: meta.contentType, signal })
      .then((result) => {
        this.#files.rememberUrl(result.url, fileId);
        return result;
      });
    // A failed upload is not remembered: the next turn tries again.
    uploaded.catch(() => this.#uploads.delete(key));
    this.#uploads.set(key, { uploaded, at: Date.now() });
    return uploaded;
  }
}
