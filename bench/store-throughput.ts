import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { ChatStore } from "../src/store/chat-store.js";
import { MemoryChatStore } from "../src/store/memory-chat-store.js";
import { SqliteChatStore, sqliteDatabaseFileName } from "../src/store/sqlite-chat-store.js";

// How fast the chat store is at the sizes a long-lived install reaches: appends per second and
// chat-list latency with 10,000 chats. Run `npx tsx bench/store-throughput.ts [sqlite|memory]`.
// The SQLite database lives in a temporary directory, on disk, and is removed afterwards.

const CHAT_COUNT = 10_000;
const MESSAGES_PER_CHAT = 4;
const HOT_CHAT_APPENDS = 5_000;
const LATENCY_SAMPLES = 200;

const kind = process.argv[2] ?? "sqlite";
if (kind !== "sqlite" && kind !== "memory") {
  process.stderr.write(`Unknown store "${kind}": use sqlite or memory\n`);
  process.exit(2);
}

const directory = mkdtempSync(join(tmpdir(), "freeqwenapi-store-bench-"));
const store: ChatStore =
  kind === "sqlite" ? new SqliteChatStore(join(directory, sqliteDatabaseFileName)) : new MemoryChatStore();

try {
  await run(store);
} finally {
  await store.close();
  rmSync(directory, { recursive: true, force: true });
}

async function run(store: ChatStore): Promise<void> {
  print(`${kind} store, ${CHAT_COUNT} chats × ${MESSAGES_PER_CHAT} messages`);

  const chatIds: string[] = [];
  let started = performance.now();
  for (let index = 0; index < CHAT_COUNT; index++) {
    chatIds.push((await store.createChat({ name: `Chat ${index}`, model: "qwen3-max" })).id);
  }
  rate("createChat", CHAT_COUNT, performance.now() - started);

  started = performance.now();
  for (const chatId of chatIds) {
    for (let turn = 0; turn < MESSAGES_PER_CHAT; turn++) {
      await store.appendMessage(chatId, {
        role: turn % 2 ? "assistant" : "user",
        content: `Turn ${turn}: ${"Привет, 你好, hello 👋 ".repeat(8)}`,
      });
    }
  }
  rate("appendMessage across chats", CHAT_COUNT * MESSAGES_PER_CHAT, performance.now() - started);

  const hotChatId = chatIds[0]!;
  started = performance.now();
  for (let index = 0; index < HOT_CHAT_APPENDS; index++) {
    await store.appendMessage(hotChatId, { role: index % 2 ? "assistant" : "user", content: `#${index}` });
  }
  rate("appendMessage to one long chat", HOT_CHAT_APPENDS, performance.now() - started);

  started = performance.now();
  await Promise.all(
    Array.from({ length: HOT_CHAT_APPENDS }, (_, index) =>
      store.appendMessage(chatIds[index % chatIds.length]!, { role: "user", content: `concurrent ${index}` }),
    ),
  );
  rate("appendMessage, all at once", HOT_CHAT_APPENDS, performance.now() - started);

  for (const chatId of chatIds) await store.setHistoryHash(chatId, `hash-${chatId}`);

  await latency("listChats limit 50, first page", () => store.listChats({ limit: 50 }));
  await latency("listChats limit 50, middle page", () =>
    store.listChats({ limit: 50, offset: CHAT_COUNT / 2 }),
  );
  await latency("listChats limit 50, last page", () =>
    store.listChats({ limit: 50, offset: CHAT_COUNT - 50 }),
  );
  await latency("getChat, short chat", () => store.getChat(chatIds[1]!));
  await latency(`getChat, ${HOT_CHAT_APPENDS}-message chat`, () => store.getChat(hotChatId), 50);
  await latency("findByHistoryHash", () => store.findByHistoryHash(`hash-${chatIds[CHAT_COUNT / 2]}`));
}

function rate(label: string, operations: number, milliseconds: number): void {
  const perSecond = Math.round((operations / milliseconds) * 1000);
  print(`${label.padEnd(36)} ${String(perSecond).padStart(9)} ops/s  (${operations} in ${ms(milliseconds)})`);
}

async function latency(label: string, operation: () => Promise<unknown>, samples = LATENCY_SAMPLES) {
  await operation();
  const durations: number[] = [];
  for (let index = 0; index < samples; index++) {
    const started = performance.now();
    await operation();
    durations.push(performance.now() - started);
  }
  durations.sort((left, right) => left - right);
  const at = (fraction: number) => durations[Math.min(durations.length - 1, Math.floor(fraction * samples))]!;
  print(`${label.padEnd(36)} p50 ${ms(at(0.5))}  p95 ${ms(at(0.95))}  max ${ms(at(1))}`);
}

function ms(milliseconds: number): string {
  return `${milliseconds.toFixed(milliseconds < 10 ? 3 : 0)} ms`;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}
