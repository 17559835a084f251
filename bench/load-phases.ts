import { setTimeout as sleep } from "node:timers/promises";
import type { PathName, StreamResult, StreamTarget } from "./stream-clients.js";

// The three shapes of load the benchmark applies: one stream at a time, N streams in a
// closed loop for a fixed time, and many streams opened together and held open.

/**
 * One stream at a time, alternating paths (and which goes first) so that any drift during
 * the run (JIT, CPU frequency, other load) hits both paths alike.
 */
export async function alternatingSequence(
  targets: Record<PathName, StreamTarget>,
  pairs: number,
): Promise<Record<PathName, StreamResult[]>> {
  const results: Record<PathName, StreamResult[]> = { direct: [], proxy: [] };
  for (let index = 0; index < pairs; index++) {
    const order: PathName[] = index % 2 === 0 ? ["direct", "proxy"] : ["proxy", "direct"];
    for (const path of order) results[path].push(await targets[path]());
  }
  return results;
}

export interface ClosedLoopRun {
  concurrency: number;
  elapsedMs: number;
  results: StreamResult[];
}

/** `concurrency` workers, each starting its next stream as soon as the last one ends. */
export async function closedLoop(
  target: StreamTarget,
  concurrency: number,
  durationMs: number,
): Promise<ClosedLoopRun> {
  const results: StreamResult[] = [];
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) results.push(await target());
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { concurrency, elapsedMs: performance.now() - started, results };
}

export interface HeldStreams {
  readonly opened: number;
  /** Time to the first answer text of every stream that has had one so far, ms. */
  readonly firstAnswerMs: readonly number[];
  /** Streams that ended or failed on their own while they should have stayed open. */
  readonly endedEarly: readonly StreamResult[];
  /** Those of them that ended before any answer text. */
  readonly failedBeforeAnswer: number;
  /** Resolves once every stream has its first answer text or ended, or the time is up. */
  settle(timeoutMs: number): Promise<void>;
  /** Aborts every stream still open and waits for all of them. */
  close(): Promise<void>;
}

/** Opens `count` streams at once against a slow upstream and keeps them open until closed. */
export function holdOpenStreams(target: StreamTarget, count: number): HeldStreams {
  // One controller per stream: a thousand streams listening on one signal would be reported
  // as a listener leak.
  const controllers = Array.from({ length: count }, () => new AbortController());
  const firstAnswerMs: number[] = [];
  const endedEarly: StreamResult[] = [];
  // A stream that failed before its first answer will never have one.
  let failedBeforeAnswer = 0;
  const streams = controllers.map(async (controller) => {
    let answered = false;
    const onFirstAnswer = (milliseconds: number) => {
      answered = true;
      firstAnswerMs.push(milliseconds);
    };
    const result = await target({ signal: controller.signal, onFirstAnswer });
    if (result.abortedByUs) return;
    endedEarly.push(result);
    if (!answered) failedBeforeAnswer++;
  });
  return {
    opened: count,
    firstAnswerMs,
    endedEarly,
    get failedBeforeAnswer() {
      return failedBeforeAnswer;
    },
    settle: async (timeoutMs) => {
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline) {
        if (firstAnswerMs.length + failedBeforeAnswer >= count) return;
        await sleep(25);
      }
    },
    close: async () => {
      for (const controller of controllers) controller.abort();
      await Promise.all(streams);
    },
  };
}

/** Failure messages counted by kind, for the report. */
export function countErrors(results: readonly StreamResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of results) {
    if (result.ok || result.abortedByUs) continue;
    const key = (result.error ?? "unknown").slice(0, 160);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
