import { join } from "node:path";
import { readJsonFileSync, writePrivateJsonSync } from "../config/private-json-file.js";
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
  // A missing or damaged state file only loses cool-downs; accounts are probed again.
  const saved = readJsonFileSync(accountStatePath(dataDir));
  return saved && typeof saved === "object" && !Array.isArray(saved)
    ? (saved as Record<string, SavedAccountState>)
    : {};
}

export function writeAccountState(dataDir: string, state: Record<string, SavedAccountState>): void {
  writePrivateJsonSync(accountStatePath(dataDir), state);
}
