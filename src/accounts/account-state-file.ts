import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { AccountState } from "./account-pool.js";

/** The part of an account's state that must survive a restart (a rate limit lasts hours). */
export interface SavedAccountState {
  state: AccountState;
  unavailableUntil?: number;
  lastError?: string;
  requestsToday: number;
  day: string;
}

export function accountStatePath(dataDir: string): string {
  return join(dataDir, "account-state.json");
}

export function readAccountState(dataDir: string): Record<string, SavedAccountState> {
  const path = accountStatePath(dataDir);
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, SavedAccountState>;
  } catch {
    // A damaged state file only loses cool-downs; accounts are probed again.
    return {};
  }
}

/** Written whole to a temporary file and renamed, so a crash never leaves half a file. */
export function writeAccountState(dataDir: string, state: Record<string, SavedAccountState>): void {
  const path = accountStatePath(dataDir);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state), { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}
