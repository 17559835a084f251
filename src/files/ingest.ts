import { InputError } from "../errors.js";
import type { FileStore, StoredFile } from "./file-store.js";
import { defaultName, detectFileType, SIZE_LIMITS } from "./file-types.js";
import { downloadFile } from "./safe-download.js";

/** How a message refers to an attachment: a stored file, or a URL Qwen itself serves. */
const FILE_PREFIX = "file:";

export function fileRef(id: string): string {
  return `${FILE_PREFIX}${id}`;
}

export function parseAttachmentRef(ref: string): { fileId: string } | { url: string } {
  return ref.startsWith(FILE_PREFIX) ? { fileId: ref.slice(FILE_PREFIX.length) } : { url: ref };
}

export interface AttachmentIngestOptions {
  files: FileStore;
  /**
   * Where Qwen serves files itself: passed on, not re-uploaded. Entries with a port match
   * that host and port exactly; names without one match the name and its subdomains.
   */
  qwenHosts: string[];
  allowPrivateUrls: boolean;
  downloadTimeoutMs?: number;
}

/**
 * Turns what a client attached (an http(s) URL, a data: URI, an uploaded file id) into a
 * reference the conversation can carry to any account: files are fetched or decoded once,
 * checked (type, size, address) and kept, so every account they go to gets the same bytes.
 */
export class AttachmentIngest {
  readonly #options: AttachmentIngestOptions;

  constructor(options: AttachmentIngestOptions) {
    this.#options = options;
  }

  get files(): FileStore {
    return this.#options.files;
  }

  async fromUrl(url: string, param: string, signal?: AbortSignal): Promise<string> {
    if (url.startsWith("data:")) return fileRef(this.#fromDataUri(url, param).id);
    const known = this.#options.files.findByUrl(url);
    if (known) return fileRef(known);
    if (this.#isQwenHosted(url)) return url;
    const largest = Math.max(...Object.values(SIZE_LIMITS));
    const downloaded = await downloadFile(url, {
      maxBytes: largest,
      timeoutMs: this.#options.downloadTimeoutMs,
      allowPrivate: this.#options.allowPrivateUrls,
      signal,
      param,
    });
    return fileRef(this.store(downloaded.bytes, downloaded.name, downloaded.contentType, url, param).id);
  }

  fromFileId(id: string, param: string): string {
    if (!this.#options.files.meta(id)) {
      throw new InputError(`No uploaded file ${id}`, { status: 404, code: "file_not_found", param });
    }
    this.#options.files.touch(id);
    return fileRef(id.toLowerCase());
  }

  /** Checks and keeps bytes from any source. */
  store(
    bytes: Uint8Array,
    name: string,
    declaredType: string | undefined,
    source: string,
    param: string,
  ): StoredFile {
    const type = detectFileType(bytes, name, declaredType);
    if (!type) {
      throw new InputError(
        "Unsupported file type: send an image (png, jpeg, gif, webp, bmp), a document (pdf, txt, md, csv, json, docx, xlsx, pptx), audio or video",
        { code: "unsupported_file_type", param },
      );
    }
    if (bytes.byteLength > SIZE_LIMITS[type.kind]) {
      throw new InputError(
        `The ${type.kind} is larger than ${SIZE_LIMITS[type.kind] / 1024 / 1024} MB, the limit for ${type.kind}s`,
        { status: 413, code: "file_too_large", param },
      );
    }
    const cleanName = name.replace(/[\\/\0]/g, "_").slice(0, 200) || defaultName(type);
    return this.#options.files.save(bytes, { name: cleanName, contentType: type.contentType, source });
  }

  #fromDataUri(uri: string, param: string): StoredFile {
    const match = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s.exec(uri);
    if (!match) throw new InputError("A malformed data: URI", { code: "invalid_data_uri", param });
    const [, mediaType, flags, payload] = match;
    const bytes = flags?.includes(";base64")
      ? Buffer.from(payload ?? "", "base64")
      : Buffer.from(decodeURIComponent(payload ?? ""), "utf8");
    if (bytes.byteLength === 0)
      throw new InputError("The data: URI is empty", { code: "invalid_data_uri", param });
    return this.store(bytes, "", mediaType || undefined, "data-uri", param);
  }

  #isQwenHosted(url: string): boolean {
    try {
      const parsed = new URL(url);
      const hostname = parsed.hostname.toLowerCase();
      return this.#options.qwenHosts.some((qwenHost) =>
        qwenHost.includes(":")
          ? parsed.host.toLowerCase() === qwenHost
          : hostname === qwenHost || hostname.endsWith(`.${qwenHost}`),
      );
    } catch {
      return false;
    }
  }
}
