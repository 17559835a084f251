import { readFileSync } from "node:fs";
import { QwenError } from "../src/errors.js";
import type { QwenEvent } from "../src/events.js";
import type { TransportResponse } from "../src/transport/transport.js";

/** Reads a recorded stream: one SSE event per line, as stored under src/qwen/fixtures. */
export function loadFixture(name: string): string[] {
  const url = new URL(`../src/qwen/fixtures/${name}`, import.meta.url);
  return readFileSync(url, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");
}

export type Framing = "sse" | "crlf" | "line";

/** The bytes upstream would send for these events. */
export function toWire(lines: string[], framing: Framing = "sse"): Uint8Array {
  const separator = framing === "sse" ? "\n\n" : framing === "crlf" ? "\r\n\r\n" : "\n";
  return new TextEncoder().encode(lines.map((line) => line + separator).join(""));
}

/** Cuts bytes at the given offsets (sorted, deduplicated, inside the buffer). */
export function splitAt(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const cuts = [...new Set(offsets.filter((offset) => offset > 0 && offset < bytes.length))].sort(
    (a, b) => a - b,
  );
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const cut of cuts) {
    pieces.push(bytes.subarray(start, cut));
    start = cut;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

/** Deterministic pseudo-random cut points (mulberry32), for awkward but repeatable splits. */
export function randomOffsets(length: number, count: number, seed: number): number[] {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, () => Math.floor(next() * length));
}

export interface FakeResponseOptions {
  status?: number;
  headers?: Record<string, string>;
  /** Thrown by the body after the chunks, as a dropped connection would. */
  failAfter?: Error;
}

/** A TransportResponse that delivers the given chunks, recording whether it was cancelled. */
export function responseFrom(
  chunks: Uint8Array[],
  options: FakeResponseOptions = {},
): TransportResponse & { cancelled: boolean } {
  const response = {
    status: options.status ?? 200,
    headers: options.headers ?? { "content-type": "text/event-stream" },
    cancelled: false,
    body: (async function* () {
      for (const chunk of chunks) yield chunk;
      if (options.failAfter) throw options.failAfter;
    })(),
    cancel() {
      response.cancelled = true;
    },
  };
  return response;
}

export interface Collected {
  events: QwenEvent[];
  error: QwenError | undefined;
}

/** Runs an event stream to its end, keeping the events that came before any error. */
export async function collect(stream: AsyncIterable<QwenEvent>): Promise<Collected> {
  const events: QwenEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
    return { events, error: undefined };
  } catch (error) {
    if (!(error instanceof QwenError)) throw error;
    return { events, error };
  }
}

export function textOf(events: QwenEvent[]): string {
  return events.map((event) => (event.type === "text-delta" ? event.text : "")).join("");
}

export function reasoningOf(events: QwenEvent[]): string {
  return events.map((event) => (event.type === "reasoning-delta" ? event.text : "")).join("");
}
