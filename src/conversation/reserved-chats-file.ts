import { join } from "node:path";
import { readJsonFileSync, writePrivateJsonSync } from "../config/private-json-file.js";
import type { UpstreamChatRef } from "../store/chat-store.js";

// The upstream chats created ahead of need, kept in DATA_DIR so that a run that ends without
// its shutdown (killed, crashed) does not leave them behind in the accounts' chat lists.

export function reservedChatsPath(dataDir: string): string {
  return join(dataDir, "reserved-chats.json");
}

export function readReservedChats(dataDir: string): UpstreamChatRef[] {
  const saved = readJsonFileSync(reservedChatsPath(dataDir));
  if (!Array.isArray(saved)) return [];
  return saved.filter(
    (item): item is UpstreamChatRef =>
      typeof item?.accountId === "string" && typeof item?.upstreamChatId === "string",
  );
}

export function writeReservedChats(dataDir: string, reserved: readonly UpstreamChatRef[]): void {
  writePrivateJsonSync(reservedChatsPath(dataDir), reserved);
}
