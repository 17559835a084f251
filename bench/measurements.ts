import { setTimeout as sleep } from "node:timers/promises";
import type { FakeUpstreamChild, ProxyChild, ProxyProbe } from "./child-processes.js";
import {
  alternatingSequence,
  closedLoop,
  countErrors,
  type HeldStreams,
  holdOpenStreams,
} from "./load-phases.js";
import { round, roundSummary, type Summary, summarise } from "./statistics.js";
import type { PathName, StreamResult, StreamTarget } from "./stream-clients.js";
import type { Environment } from "./text-table.js";

// Each measurement of the benchmark, turned into the plain numbers results.json holds.

export const settings = {
  warmupStreams: 200,
  /** Sequential pairs (one direct, one proxied) for the time-to-first-byte comparison. */
  ttfbPairs: 300,
  concurrencyLevels: [1, 10, 100],
  /** Closed-loop time per path and level, split into rounds that alternate the paths. */
  levelDurationMs: 6_000,
  levelRounds: 2,
  /** Delay before every upstream event while streams are held open: long enough to measure. */
  slowDelayMs: 2_000,
  /** Streams opened at once, and held, to measure the proxy's memory per open stream. */
  memoryStreams: 200,
  /** Streams opened at once and held; the proxy's memory is measured with these too. */
  heldStreams: 1_000,
  /** One account's upstream connection pool in the proxy holds 16 connections; 64 × 16 ≥ 1,000. */
  manyAccounts: 64,
} as const;

export const targets = {
  addedTtfbP50Ms: 2,
  overheadRatioAt100: 1.1,
  kilobytesPerOpenStream: 64,
} as const;

export type ErrorCounts = Record<string, number>;

export async function warmUp(target: StreamTarget, count: number): Promise<void> {
  let started = 0;
  const worker = async () => {
    while (started++ < count) await target();
  };
  await Promise.all(Array.from({ length: 10 }, worker));
}

export interface TtfbResult {
  pairs: number;
  /** Time to first byte. */
  directMs: Summary;
  proxyMs: Summary;
  /** Proxy percentile minus direct percentile. */
  addedMs: Added;
  /** Time to the first whole event with answer text. */
  directFirstAnswerMs: Summary;
  proxyFirstAnswerMs: Summary;
  addedToFirstAnswerMs: Added;
  /** A bare `GET /health` through the proxy: what one HTTP hop through fastify costs. */
  healthRoundTripMs: Summary;
  fullStreamMs: { direct: Summary; proxy: Summary };
  fullStreamRatio: number;
  errors: ErrorCounts;
  pass: boolean;
}

export interface Added {
  p50: number;
  p99: number;
  mean: number;
}

function added(proxy: Summary, direct: Summary): Added {
  return {
    p50: round(proxy.p50 - direct.p50, 3),
    p99: round(proxy.p99 - direct.p99, 3),
    mean: round(proxy.mean - direct.mean, 3),
  };
}

export async function measureTtfb(
  paths: Record<PathName, StreamTarget>,
  pairs: number,
  healthRoundTrip: () => Promise<number>,
): Promise<TtfbResult> {
  const results = await alternatingSequence(paths, pairs);
  const health: number[] = [];
  for (let index = 0; index < pairs; index++) health.push(await healthRoundTrip());
  const of = (path: PathName, pick: (result: StreamResult) => number) =>
    summarise(results[path].filter((result) => result.ok).map(pick));
  const firstByte = {
    direct: of("direct", (result) => result.ttfbMs),
    proxy: of("proxy", (result) => result.ttfbMs),
  };
  const firstAnswer = {
    direct: of("direct", (result) => result.firstAnswerMs),
    proxy: of("proxy", (result) => result.firstAnswerMs),
  };
  const stream = {
    direct: of("direct", (result) => result.totalMs),
    proxy: of("proxy", (result) => result.totalMs),
  };
  return {
    pairs,
    directMs: roundSummary(firstByte.direct, 3),
    proxyMs: roundSummary(firstByte.proxy, 3),
    addedMs: added(firstByte.proxy, firstByte.direct),
    directFirstAnswerMs: roundSummary(firstAnswer.direct, 3),
    proxyFirstAnswerMs: roundSummary(firstAnswer.proxy, 3),
    addedToFirstAnswerMs: added(firstAnswer.proxy, firstAnswer.direct),
    healthRoundTripMs: roundSummary(summarise(health), 3),
    fullStreamMs: { direct: roundSummary(stream.direct, 3), proxy: roundSummary(stream.proxy, 3) },
    fullStreamRatio: round(stream.proxy.mean / stream.direct.mean, 3),
    errors: { ...countErrors(results.direct), ...countErrors(results.proxy) },
    pass: firstByte.proxy.p50 - firstByte.direct.p50 < targets.addedTtfbP50Ms,
  };
}

export interface PathRun {
  completed: number;
  failed: number;
  completionsPerSecond: number;
  streamMs: Summary;
  ttfbMs: Summary;
  /** CPU the proxy process spent per completed stream (≈0 on the direct path: it idles). */
  proxyCpuMsPerCompletion: number;
  fakeCpuMsPerCompletion: number;
  /** CPU this benchmark process spent per completed stream: the load generator's share. */
  loadGeneratorCpuMsPerCompletion: number;
  errors: ErrorCounts;
}

export interface LevelResult {
  concurrency: number;
  /** Accounts the proxy serves from; each has its own pool of 16 upstream connections. */
  proxyAccounts: number;
  durationMs: number;
  direct: PathRun;
  proxy: PathRun;
  /** Proxy stream time over direct stream time. */
  streamTimeRatio: { mean: number; p50: number };
  /** Proxied completions per second over direct ones (below 1: the proxy path is slower). */
  throughputRatio: number;
}

export interface Processes {
  proxy: ProxyChild;
  proxyAccounts: number;
  fake: FakeUpstreamChild;
  onProgress(message: string): void;
}

interface Tally {
  results: StreamResult[];
  elapsedMs: number;
  proxyCpuMs: number;
  fakeCpuMs: number;
  ownCpuMs: number;
}

/**
 * Both paths at one concurrency, in rounds of alternating order (direct-proxy, proxy-direct),
 * so that whatever else the machine does during the run weighs on both alike.
 */
export async function measureLevel(
  concurrency: number,
  paths: Record<PathName, StreamTarget>,
  processes: Processes,
): Promise<LevelResult> {
  const tallies: Record<PathName, Tally> = {
    direct: { results: [], elapsedMs: 0, proxyCpuMs: 0, fakeCpuMs: 0, ownCpuMs: 0 },
    proxy: { results: [], elapsedMs: 0, proxyCpuMs: 0, fakeCpuMs: 0, ownCpuMs: 0 },
  };
  const roundMs = settings.levelDurationMs / settings.levelRounds;
  processes.onProgress(
    `${concurrency} concurrent streams, ${settings.levelRounds} rounds of ${roundMs / 1000} s per path ` +
      `(proxy with ${processes.proxyAccounts} account(s))`,
  );
  for (let round = 0; round < settings.levelRounds; round++) {
    const order: PathName[] = round % 2 === 0 ? ["direct", "proxy"] : ["proxy", "direct"];
    for (const path of order) {
      const tally = tallies[path];
      const proxyBefore = (await processes.proxy.probe()).cpuMs;
      const fakeBefore = await processes.fake.cpuMs();
      const ownBefore = process.cpuUsage();
      const run = await closedLoop(paths[path], concurrency, roundMs);
      const own = process.cpuUsage(ownBefore);
      tally.ownCpuMs += (own.user + own.system) / 1000;
      tally.proxyCpuMs += (await processes.proxy.probe()).cpuMs - proxyBefore;
      tally.fakeCpuMs += (await processes.fake.cpuMs()) - fakeBefore;
      tally.results.push(...run.results);
      tally.elapsedMs += run.elapsedMs;
    }
  }
  const direct = pathRun(tallies.direct);
  const proxy = pathRun(tallies.proxy);
  return {
    concurrency,
    proxyAccounts: processes.proxyAccounts,
    durationMs: settings.levelDurationMs,
    direct,
    proxy,
    streamTimeRatio: {
      mean: round(proxy.streamMs.mean / direct.streamMs.mean, 3),
      p50: round(proxy.streamMs.p50 / direct.streamMs.p50, 3),
    },
    throughputRatio: round(proxy.completionsPerSecond / direct.completionsPerSecond, 3),
  };
}

function pathRun(tally: Tally): PathRun {
  const succeeded = tally.results.filter((result) => result.ok);
  const perCompletion = (milliseconds: number) => round(milliseconds / Math.max(1, succeeded.length), 3);
  return {
    completed: succeeded.length,
    failed: tally.results.length - succeeded.length,
    completionsPerSecond: round(succeeded.length / (tally.elapsedMs / 1000), 1),
    streamMs: roundSummary(summarise(succeeded.map((result) => result.totalMs))),
    ttfbMs: roundSummary(summarise(succeeded.map((result) => result.ttfbMs))),
    proxyCpuMsPerCompletion: perCompletion(tally.proxyCpuMs),
    fakeCpuMsPerCompletion: perCompletion(tally.fakeCpuMs),
    loadGeneratorCpuMsPerCompletion: perCompletion(tally.ownCpuMs),
    errors: countErrors(tally.results),
  };
}

export interface HeldResult {
  setup: string;
  accounts: number | null;
  opened: number;
  gotFirstAnswer: number;
  endedOrFailedEarly: number;
  /** Neither answered nor failed when the benchmark stopped waiting: stuck in a queue. */
  stillWaiting: number;
  /** How long the benchmark waited for first answers (it gives up at settleTimeoutMs). */
  waitedMs: number;
  firstAnswerMs: Summary;
  errors: ErrorCounts;
  pass: boolean;
}

export function heldReport(
  setup: string,
  accounts: number | null,
  held: HeldStreams,
  waitedMs: number,
): HeldResult {
  const failures = held.endedEarly.length;
  return {
    setup,
    accounts,
    opened: held.opened,
    gotFirstAnswer: held.firstAnswerMs.length,
    endedOrFailedEarly: failures,
    stillWaiting: held.opened - held.firstAnswerMs.length - held.failedBeforeAnswer,
    waitedMs: Math.round(waitedMs),
    firstAnswerMs: roundSummary(summarise(held.firstAnswerMs), 1),
    errors: countErrors(held.endedEarly),
    pass: held.firstAnswerMs.length === held.opened && failures === 0,
  };
}

/**
 * The slowed upstream sends its first answer text as its second event, after two delays;
 * anything later than that plus a generous margin is not coming.
 */
export const settleTimeoutMs = 2 * settings.slowDelayMs + 6_000;

/** Opens streams against the slowed upstream and waits for their first answers (bounded). */
export async function openAndSettle(target: StreamTarget, count: number): Promise<[HeldStreams, number]> {
  const started = performance.now();
  const held = holdOpenStreams(target, count);
  await held.settle(settleTimeoutMs);
  return [held, performance.now() - started];
}

/** Keeps streams open past their next upstream event: "held" means none drops meanwhile. */
export async function holdThenClose(held: HeldStreams): Promise<void> {
  await sleep(settings.slowDelayMs + 1_000);
  await held.close();
}

export interface MemoryStep {
  openStreams: number;
  /** Streams that had their first answer when memory was measured (all, or the number lies). */
  answered: number;
  baselineRssMB: number;
  rssMB: number;
  heapUsedMB: number;
  rssKBPerStream: number;
  heapKBPerStream: number;
  pass: boolean;
}

export interface MemoryResult {
  accounts: number;
  steps: MemoryStep[];
}

/** What `openStreams` streams cost over the probe taken just before they were opened. */
export function memoryStep(held: HeldStreams, baseline: ProxyProbe, probe: ProxyProbe): MemoryStep {
  const openStreams = held.opened;
  const rssKBPerStream = (probe.rssBytes - baseline.rssBytes) / openStreams / 1024;
  return {
    openStreams,
    answered: held.firstAnswerMs.length,
    baselineRssMB: round(baseline.rssBytes / 2 ** 20, 1),
    rssMB: round(probe.rssBytes / 2 ** 20, 1),
    heapUsedMB: round(probe.heapUsedBytes / 2 ** 20, 1),
    rssKBPerStream: round(rssKBPerStream, 1),
    heapKBPerStream: round((probe.heapUsedBytes - baseline.heapUsedBytes) / openStreams / 1024, 1),
    pass: rssKBPerStream < targets.kilobytesPerOpenStream && held.firstAnswerMs.length === openStreams,
  };
}

export interface BenchResults {
  generatedAt: string;
  environment: Environment;
  settings: typeof settings;
  targets: typeof targets;
  ttfb: TtfbResult;
  levels: LevelResult[];
  memory: MemoryResult;
  held: HeldResult[];
  runSeconds: number;
}
