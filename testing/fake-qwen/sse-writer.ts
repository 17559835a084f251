import type { ServerResponse } from "node:http";
import { yieldToEventLoop } from "./request-context.js";
import { type RandomSource, randomInteger } from "./seeded-random.js";

// Writes each event in small, awkward pieces: inside the "data:" prefix, between the two
// newlines that end an event, and in the middle of multi-byte UTF-8 characters. Each
// piece is its own HTTP chunk with a yield in between, so the client really receives
// separate reads and any parser that assumes whole lines or whole characters breaks.

export class SseByteWriter {
  constructor(
    private readonly response: ServerResponse,
    private readonly random: RandomSource,
    private readonly signal: AbortSignal,
  ) {}

  get open(): boolean {
    return !this.signal.aborted && !this.response.destroyed && !this.response.writableEnded;
  }

  /** Resolves false once the connection is gone. */
  async write(text: string): Promise<boolean> {
    const bytes = Buffer.from(text, "utf8");
    let start = 0;
    for (const cut of [...chooseCuts(bytes, this.random), bytes.length]) {
      if (!this.open) return false;
      this.response.write(bytes.subarray(start, cut));
      start = cut;
      await yieldToEventLoop();
    }
    return this.open;
  }
}

/** Sorted cut offsets strictly inside the buffer. */
export function chooseCuts(bytes: Buffer, random: RandomSource): number[] {
  const cuts = new Set<number>();
  for (
    let offset = randomInteger(random, 1, 17);
    offset < bytes.length;
    offset += randomInteger(random, 1, 17)
  ) {
    cuts.add(offset);
  }
  // Deliberate splits, so that every event exercises at least one nasty boundary.
  const firstMultiByte = bytes.findIndex((byte) => byte >= 0xc0);
  if (firstMultiByte !== -1) cuts.add(firstMultiByte + 1);
  if (random() < 0.5) cuts.add(Math.min(3, bytes.length - 1));
  if (bytes.length > 2 && random() < 0.5) cuts.add(bytes.length - 1);
  return [...cuts].filter((cut) => cut > 0 && cut < bytes.length).sort((left, right) => left - right);
}
