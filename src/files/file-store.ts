import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A file the proxy keeps, so it can be uploaded to whichever account a chat ends up on. */
export interface StoredFile {
  id: string;
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  /** Where it came from: an upload, a data: URI, or the URL it was downloaded from. */
  source: string;
  createdAt: string;
  /** When a message last named it (stored again, referred to by id, uploaded), ISO time. */
  usedAt?: string;
  /** Qwen's URLs of its uploads, without query, so a client that sends one back is understood. */
  qwenUrls?: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Files in `<DATA_DIR>/files/<id>/` (content + meta.json, owner-only). The same bytes stored
 * twice under one name share an entry, found by their SHA-256.
 */
export class FileStore {
  readonly #root: string;
  readonly #bySha = new Map<string, string>();
  /** Qwen URLs a stored file was uploaded to, so a client that sends one back is understood. */
  readonly #byUrl = new Map<string, string>();

  constructor(dataDir: string) {
    this.#root = join(dataDir, "files");
    // Files kept from earlier runs are found again by their bytes and their Qwen URLs.
    for (const meta of this.list()) {
      this.#bySha.set(`${meta.sha256}:${meta.name}`, meta.id);
      for (const url of meta.qwenUrls ?? []) this.#byUrl.set(url, meta.id);
    }
  }

  /** Notes that a message names the file now, so the unused-file collector leaves it be. */
  touch(id: string): void {
    const meta = this.meta(id);
    if (meta) this.#writeMeta({ ...meta, usedAt: new Date().toISOString() });
  }

  /** Every stored file's description (unreadable entries are skipped). */
  list(): StoredFile[] {
    if (!existsSync(this.#root)) return [];
    const files: StoredFile[] = [];
    for (const entry of readdirSync(this.#root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !UUID.test(entry.name)) continue;
      try {
        files.push(JSON.parse(readFileSync(join(this.#root, entry.name, "meta.json"), "utf8")) as StoredFile);
      } catch {
        // A half-written entry (a crash between its two files) has no meta to read.
      }
    }
    return files;
  }

  /** Deletes a stored file; false when there was none. */
  remove(id: string): boolean {
    if (!UUID.test(id)) return false;
    const directory = join(this.#root, id.toLowerCase());
    if (!existsSync(directory)) return false;
    const meta = this.meta(id);
    rmSync(directory, { recursive: true, force: true });
    if (meta) this.#bySha.delete(`${meta.sha256}:${meta.name}`);
    for (const [url, fileId] of this.#byUrl) if (fileId === id) this.#byUrl.delete(url);
    return true;
  }

  save(bytes: Uint8Array, input: { name: string; contentType: string; source: string }): StoredFile {
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    // Same bytes under the same name: one entry. Another name keeps its own, for its label.
    const key = `${sha256}:${input.name}`;
    const known = this.#bySha.get(key);
    const existing = known ? this.meta(known) : undefined;
    if (existing) {
      const used = { ...existing, usedAt: new Date().toISOString() };
      this.#writeMeta(used);
      return used;
    }
    const meta: StoredFile = {
      id: randomUUID(),
      name: input.name,
      contentType: input.contentType,
      size: bytes.byteLength,
      sha256,
      source: input.source,
      createdAt: new Date().toISOString(),
    };
    const directory = join(this.#root, meta.id);
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    writeFileSync(join(directory, "content"), bytes, { mode: 0o600 });
    writeFileSync(join(directory, "meta.json"), JSON.stringify(meta), { mode: 0o600 });
    this.#bySha.set(key, meta.id);
    return meta;
  }

  /** The file, or undefined for an unknown or malformed id (never a path outside the store). */
  get(id: string): { meta: StoredFile; bytes: Buffer } | undefined {
    if (!UUID.test(id)) return undefined;
    const directory = join(this.#root, id.toLowerCase());
    if (!existsSync(join(directory, "meta.json"))) return undefined;
    const meta = JSON.parse(readFileSync(join(directory, "meta.json"), "utf8")) as StoredFile;
    return { meta, bytes: readFileSync(join(directory, "content")) };
  }

  rememberUrl(url: string, id: string): void {
    const bare = withoutQuery(url);
    this.#byUrl.set(bare, id);
    const meta = this.meta(id);
    if (meta && !(meta.qwenUrls ?? []).includes(bare)) {
      this.#writeMeta({
        ...meta,
        qwenUrls: [...(meta.qwenUrls ?? []), bare],
        usedAt: new Date().toISOString(),
      });
    }
  }

  #writeMeta(meta: StoredFile): void {
    const file = join(this.#root, meta.id.toLowerCase(), "meta.json");
    // Beside and renamed: a crash never leaves a half-written description.
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(meta), { mode: 0o600 });
    renameSync(temporary, file);
  }

  findByUrl(url: string): string | undefined {
    return this.#byUrl.get(withoutQuery(url));
  }

  meta(id: string): StoredFile | undefined {
    if (!UUID.test(id)) return undefined;
    const file = join(this.#root, id.toLowerCase(), "meta.json");
    return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as StoredFile) : undefined;
  }
}

function withoutQuery(url: string): string {
  const index = url.indexOf("?");
  return index < 0 ? url : url.slice(0, index);
}
