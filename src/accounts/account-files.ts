import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { AccountSource } from "./account-pool.js";

/** An account as kept on disk, in `<DATA_DIR>/accounts/<id>/account.json` (mode 0600). */
export interface AccountRecord {
  id: string;
  label: string;
  source: AccountSource;
  token: string;
  email?: string;
  /** Disabled accounts are kept but never chosen. */
  disabled?: boolean;
  /** Cookies pasted from a browser besides `token` (`accounts add --cookie`). */
  cookies?: Record<string, string>;
  /** The sign-in password, encrypted with the data directory's key; only when the user allowed it. */
  encryptedPassword?: string;
  createdAt: string;
  updatedAt: string;
}

export function accountsDirectory(dataDir: string): string {
  return join(dataDir, "accounts");
}

export function accountDirectory(dataDir: string, accountId: string): string {
  if (!/^[\w.-]+$/.test(accountId)) throw new Error(`Invalid account id: ${accountId}`);
  return join(accountsDirectory(dataDir), accountId);
}

function ensurePrivateDirectory(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
}

/** Written beside and renamed: a reader (a running server following the files) never sees half of it. */
function writePrivateFile(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

export function loadAccountRecords(dataDir: string): AccountRecord[] {
  const root = accountsDirectory(dataDir);
  if (!existsSync(root)) return [];
  const records: AccountRecord[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const file = join(root, entry.name, "account.json");
    if (!existsSync(file)) continue;
    try {
      const record = JSON.parse(readFileSync(file, "utf8")) as AccountRecord;
      if (record.id && record.token) records.push(record);
    } catch {
      // A damaged file is skipped rather than stopping the server; `accounts list` shows what loaded.
    }
  }
  return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export function saveAccountRecord(dataDir: string, record: AccountRecord): void {
  const directory = accountDirectory(dataDir, record.id);
  ensurePrivateDirectory(accountsDirectory(dataDir));
  ensurePrivateDirectory(directory);
  writePrivateFile(join(directory, "account.json"), `${JSON.stringify(record, null, 2)}\n`);
}

export function removeAccountRecord(dataDir: string, accountId: string): boolean {
  const directory = accountDirectory(dataDir, accountId);
  if (!existsSync(directory)) return false;
  rmSync(directory, { recursive: true, force: true });
  return true;
}

/**
 * The data directory's own key: passwords the user let us keep are encrypted with it, so they
 * never sit in clear text in account files, backups or logs.
 */
function dataKey(dataDir: string): Buffer {
  const file = join(dataDir, "secret.key");
  if (existsSync(file)) return Buffer.from(readFileSync(file, "utf8").trim(), "base64");
  ensurePrivateDirectory(dataDir);
  const key = randomBytes(32);
  writePrivateFile(file, key.toString("base64"));
  return key;
}

export function encryptSecret(dataDir: string, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", dataKey(dataDir), iv);
  const data = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return [iv, cipher.getAuthTag(), data].map((part) => part.toString("base64")).join(".");
}

export function decryptSecret(dataDir: string, sealed: string): string {
  const [iv, tag, data] = sealed.split(".").map((part) => Buffer.from(part, "base64"));
  if (!iv || !tag || !data) throw new Error("The stored secret is damaged");
  const decipher = createDecipheriv("aes-256-gcm", dataKey(dataDir), iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(data), decipher.final()]).toString("utf8");
}
