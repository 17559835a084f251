import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Writes JSON readable by its owner only (0600, in a 0700 directory), whole to a temporary
 * file beside it and then renamed, so a crash never leaves half a file behind.
 */
export function writePrivateJsonSync(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    writeFileSync(temporary, JSON.stringify(value), { mode: 0o600, flag: "wx" });
    chmodSync(temporary, 0o600);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** The parsed file, or undefined when it is missing or unreadable (callers start afresh). */
export function readJsonFileSync(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Keeps one owner-only JSON file up to date without blocking the event loop: writes happen on
 * the thread pool, one at a time, and a value saved while one is running replaces any other
 * still waiting (only the newest is written).
 */
export class PrivateJsonFileWriter {
  readonly #path: string;
  #next: { value: unknown } | undefined;
  #writing: Promise<void> | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  save(value: unknown): void {
    this.#next = { value };
    this.#writing ??= this.#drain();
  }

  /** Resolves once everything saved so far is on disk (or failed to be). */
  async idle(): Promise<void> {
    await this.#writing;
  }

  async #drain(): Promise<void> {
    while (this.#next) {
      const { value } = this.#next;
      this.#next = undefined;
      try {
        await writePrivateJson(this.#path, value);
      } catch {
        // The next save tries again; nothing here is worth stopping for.
      }
    }
    this.#writing = undefined;
  }
}

async function writePrivateJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, JSON.stringify(value), { mode: 0o600, flag: "wx" });
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
