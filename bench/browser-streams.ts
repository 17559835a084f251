import { setTimeout as sleep } from "node:timers/promises";
import type { BrowserContext } from "playwright-core";
import type { QwenClient } from "../src/qwen/client.js";
import type { TimedTransport } from "./timed-transport.js";

// Streamed completions as the browser benchmark drives them: one timed at a time, or many
// opened at once and held.

/** Error messages and how often each came. */
export type Errors = Record<string, number>;

export function noteError(errors: Errors, error: unknown): void {
  const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
  errors[message] = (errors[message] ?? 0) + 1;
}

/** Milliseconds from the start of `streamCompletion` (the chat already exists). */
export interface Sample {
  /** The response head reached Node. */
  headers: number;
  /** The first body bytes reached Node. */
  firstByte: number;
  /** QwenClient yielded its first event (response-created). */
  firstEvent: number;
  /** The first answer text. */
  firstText: number;
  /** The stream was over. */
  whole: number;
  /** `createChat` beforehand, a small JSON round trip on the same path. */
  createChat: number;
}

/** One new chat and one streamed completion in it, timed. */
export async function timeCompletion(
  client: QwenClient,
  timed: TimedTransport,
  model: string,
): Promise<Sample> {
  const chatStarted = performance.now();
  const chatId = await client.createChat({ model });
  const started = performance.now();
  const createChat = started - chatStarted;
  let firstEvent: number | undefined;
  let firstText: number | undefined;
  for await (const event of client.streamCompletion({ chatId, model, content: "Hello from the benchmark" })) {
    const now = performance.now();
    firstEvent ??= now;
    if (event.type === "text-delta") firstText ??= now;
  }
  const ended = performance.now();
  const { headers, firstByte } = timed.marks;
  if (
    headers === undefined ||
    firstByte === undefined ||
    firstEvent === undefined ||
    firstText === undefined
  ) {
    throw new Error("The stream ended without a head, a first byte, an event or answer text");
  }
  return {
    headers: headers - started,
    firstByte: firstByte - started,
    firstEvent: firstEvent - started,
    firstText: firstText - started,
    whole: ended - started,
    createChat,
  };
}

interface HeldRecord {
  firstEventMs?: number;
  error?: unknown;
}

export interface HeldSet {
  /** How long the opening waited (for all first events, or for the whole window). */
  readonly waitedMs: number;
  gotHeaders(): number;
  gotFirstEvent(): number;
  /** Streams that failed on their own (not by our closing them). */
  failed(): number;
  firstEventMs(): number[];
  errors(): Errors;
  /** Aborts every stream and waits until each has let go. */
  close(): Promise<void>;
}

/**
 * Creates `count` chats (a few at a time), then opens one streamed completion in each, all at
 * once, and keeps reading them. Returns after `waitMs`, or as soon as every stream has shown
 * its first event when `untilAllFirstEvents` is set.
 */
export async function openHeld(
  client: QwenClient,
  timed: TimedTransport,
  count: number,
  model: string,
  waitMs: number,
  options: { untilAllFirstEvents?: boolean } = {},
): Promise<HeldSet> {
  const chatIds: string[] = [];
  while (chatIds.length < count) {
    const batch = Math.min(10, count - chatIds.length);
    chatIds.push(...(await Promise.all(Array.from({ length: batch }, () => client.createChat({ model })))));
  }
  const headsBefore = timed.heads;
  // One controller per stream, as each request of the proxy has its own.
  const controllers = chatIds.map(() => new AbortController());
  const records: HeldRecord[] = chatIds.map(() => ({}));
  const started = performance.now();
  const tasks = chatIds.map(async (chatId, index) => {
    const record = records[index]!;
    const { signal } = controllers[index]!;
    try {
      for await (const _event of client.streamCompletion(
        { chatId, model, content: `Held stream ${index}` },
        { signal },
      )) {
        record.firstEventMs ??= performance.now() - started;
      }
    } catch (error) {
      if (!signal.aborted) record.error = error;
    }
  });
  const firstEvents = () => records.filter((record) => record.firstEventMs !== undefined).length;
  while (performance.now() - started < waitMs) {
    const settled = firstEvents() + records.filter((record) => record.error !== undefined).length;
    if (options.untilAllFirstEvents && settled >= count) break;
    await sleep(50);
  }
  const waitedMs = performance.now() - started;
  return {
    waitedMs,
    gotHeaders: () => timed.heads - headsBefore,
    gotFirstEvent: firstEvents,
    failed: () => records.filter((record) => record.error !== undefined).length,
    firstEventMs: () =>
      records.flatMap((record) => (record.firstEventMs === undefined ? [] : [record.firstEventMs])),
    errors: () => {
      const errors: Errors = {};
      for (const record of records) if (record.error !== undefined) noteError(errors, record.error);
      return errors;
    },
    close: async () => {
      for (const controller of controllers) controller.abort();
      await Promise.all(tasks);
    },
  };
}

/** A full garbage collection in every page of the context (DevTools protocol), for steady readings. */
export async function collectPageGarbage(context: BrowserContext): Promise<void> {
  for (const page of context.pages()) {
    const session = await context.newCDPSession(page);
    try {
      await session.send("HeapProfiler.collectGarbage");
    } finally {
      await session.detach().catch(() => {});
    }
  }
}

/** Sequential timings of `action`, in milliseconds. */
export async function timeEach(times: number, action: () => Promise<unknown>): Promise<number[]> {
  const durations: number[] = [];
  for (let index = 0; index < times; index++) {
    const started = performance.now();
    await action();
    durations.push(performance.now() - started);
  }
  return durations;
}

const COMPLETIONS_PATH = "/api/v2/chat/completions";

/** Makes room in every page's resource-timing buffer (250 entries by default) and empties it. */
export async function resetResourceTimings(context: BrowserContext): Promise<void> {
  for (const page of context.pages()) {
    await page.evaluate("performance.setResourceTimingBufferSize(10000); performance.clearResourceTimings()");
  }
}

/**
 * What Chromium itself took for each completion request since the reset, as the page's
 * Resource Timing saw it: from `fetch()` being called to the response head (`responseStart`).
 * A string expression: tsx would rewrite a function's inner helpers into calls the page lacks.
 */
export async function inPageTimeToHead(context: BrowserContext): Promise<number[]> {
  const durations: number[] = [];
  for (const page of context.pages()) {
    const entries = (await page.evaluate(
      `performance.getEntriesByType("resource")
        .filter((entry) => entry.name.includes(${JSON.stringify(COMPLETIONS_PATH)}))
        .map((entry) => entry.responseStart - entry.startTime)`,
    )) as number[];
    durations.push(...entries.filter((value) => value > 0));
  }
  return durations;
}
