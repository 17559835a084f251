import type { Errors } from "./browser-streams.js";
import type { FrontStatistics } from "./http2-front.js";
import type { Added } from "./measurements.js";
import type { Summary } from "./statistics.js";
import { type Environment, ms, signedMs, table, verdict } from "./text-table.js";

// The browser benchmark's results: their shape (also that of results-browser.json) and the
// fixed-width tables printed from them, each with its target beside it.

export interface Comparison {
  direct: Summary;
  browser: Summary;
  /** Browser minus direct, percentile by percentile. */
  added: Added;
}

export interface LatencyResult {
  pairs: number;
  headers: Comparison;
  firstByte: Comparison;
  firstEvent: Comparison;
  firstText: Comparison;
  whole: Comparison;
  createChat: Comparison;
  /**
   * For scale: inside the page, `fetch()` to the response head (Resource Timing), which is
   * Chromium's own share; DevTools round trips, a bare `page.evaluate` and one in `pool.withPage`.
   */
  scale: { inPageFetchToHeadMs: Summary; evaluateMs: Summary; withPageEvaluateMs: Summary };
  errors: Errors;
}

export interface Http1Limit {
  streams: number;
  gotHeaders: number;
  gotFirstEvent: number;
  waitedMs: number;
}

export interface HeldStreams {
  opened: number;
  gotHeaders: number;
  gotFirstEvent: number;
  failed: number;
  firstEventMs: Summary;
  waitedMs: number;
  pagesCreated: number;
  /** Every tab of the context, the first (never used) included. */
  tabsOpen: number;
  front: FrontStatistics;
}

interface ChromiumReading {
  pssMB: number;
  rssMB: number;
  processes: number;
}

export interface MemoryResult {
  protocol: string;
  streams: HeldStreams;
  chromium: { before: ChromiumReading; open: ChromiumReading };
  node: {
    /** Retained = heap used + external (Buffers, ArrayBuffers), after a full collection. */
    before: { rssMB: number; retainedMB: number };
    open: { rssMB: number; retainedMB: number };
    collected: boolean;
  };
  perStreamMB: {
    chromiumPss: number;
    chromiumRss: number;
    nodeRss: number;
    nodeRetained: number;
    /** Chromium PSS + Node retained: what the target is about. */
    total: number;
  };
  errors: Errors;
  pass: boolean;
}

export interface TabCost {
  tabs: number;
  pssMBPerTab: number;
  processesBefore: number;
  processesAfter: number;
}

export interface BrowserBenchResults {
  generatedAt: string;
  environment: Environment & { chromium: string };
  settings: Record<string, unknown> & { poolPages: number; slowDelayMs: number };
  targets: { megabytesPerHeldStream: number };
  latency: LatencyResult;
  http1Limit: Http1Limit;
  memory: MemoryResult;
  tab: TabCost;
  runSeconds: number;
}

const mb = (value: number, digits = 1) => `${value.toFixed(digits)} MB`;

function errorLines(label: string, errors: Errors): string[] {
  return Object.entries(errors).map(([message, count]) => `    ${label}: ${count} × ${message}`);
}

export function printBrowserReport(results: BrowserBenchResults): void {
  const { environment, settings, targets, latency, http1Limit, memory, tab } = results;
  const out: string[] = [];
  out.push(
    "",
    `FreeQwenApi browser transport — node ${environment.node}, Chromium ${environment.chromium}, ` +
      `${environment.platform}, ${environment.cpus} × ${environment.cpuModel}`,
    `Load average before/after the run: ${environment.loadAverage.before} / ${environment.loadAverage.after}.`,
    "Direct  = QwenClient over DirectTransport (undici) to the fake;",
    `browser = QwenClient over BrowserTransport: fetch inside one of ${settings.poolPages} pooled pages of a ` +
      "headless Chromium, the body pushed back to Node through one binding.",
  );

  out.push(
    "",
    `1. One streamed completion at a time, ${latency.pairs} pairs alternating which path goes first ` +
      "(in-process fake, no delay between events, HTTP/1.1; ms from calling streamCompletion)",
  );
  const rows: Array<[string, keyof Omit<LatencyResult, "pairs" | "errors" | "scale">]> = [
    ["response head in Node", "headers"],
    ["first body byte in Node", "firstByte"],
    ["first event (response-created)", "firstEvent"],
    ["first answer text", "firstText"],
    ["whole stream", "whole"],
    ["createChat (JSON, not streamed)", "createChat"],
  ];
  out.push(
    table(
      ["", "direct p50", "direct p99", "browser p50", "browser p99", "added p50", "added p99", "added mean"],
      rows.map(([label, key]) => {
        const comparison = latency[key];
        return [
          label,
          ms(comparison.direct.p50),
          ms(comparison.direct.p99),
          ms(comparison.browser.p50),
          ms(comparison.browser.p99),
          signedMs(comparison.added.p50),
          signedMs(comparison.added.p99),
          signedMs(comparison.added.mean),
        ];
      }),
    ),
    `  for scale, inside the page from fetch() to the response head (Resource Timing, ` +
      `${latency.scale.inPageFetchToHeadMs.count} completions): p50 ${ms(latency.scale.inPageFetchToHeadMs.p50)}, ` +
      `p99 ${ms(latency.scale.inPageFetchToHeadMs.p99)};`,
    `  one DevTools round trip into a page: page.evaluate p50 ${ms(latency.scale.evaluateMs.p50)}, ` +
      `p99 ${ms(latency.scale.evaluateMs.p99)}; inside pool.withPage (which checks the page first) ` +
      `p50 ${ms(latency.scale.withPageEvaluateMs.p50)}, p99 ${ms(latency.scale.withPageEvaluateMs.p99)}`,
    "  no target set: reported for the record (see bench/README.md)",
    ...errorLines("errors", latency.errors),
  );

  const streams = memory.streams;
  const versions = Object.entries(streams.front.requestsByHttpVersion)
    .map(([version, count]) => `HTTP/${version.replace(/\.0$/, "")} × ${count}`)
    .join(", ");
  out.push(
    "",
    `2. ${streams.opened} streams held open at once through ${settings.poolPages} pages ` +
      `(upstream: one event every ${settings.slowDelayMs} ms)`,
    `  Over plain HTTP/1.1 (the fake as it is): ${http1Limit.gotHeaders} of ${http1Limit.streams} got a ` +
      `response head and ${http1Limit.gotFirstEvent} their first event within ${ms(http1Limit.waitedMs, 0)}:`,
    "  Chromium opens at most 6 HTTP/1.1 connections per host, the rest wait for one to end.",
    "  So memory is measured with the fake behind an HTTPS/HTTP2 front (self-signed, child process).",
    `  Measured over ${memory.protocol}` +
      (streams.front.connections > 0
        ? `; the front saw ${versions} on ${streams.front.connections} TLS connection(s).`
        : "."),
    `  ${streams.gotFirstEvent} of ${streams.opened} streams got their first event ` +
      `(p50 ${ms(streams.firstEventMs.p50, 0)}, max ${ms(streams.firstEventMs.max, 0)} after opening, ` +
      `upstream waits ${settings.slowDelayMs} ms before it); ${streams.failed} failed.`,
    `  Pages opened by the pool: ${streams.pagesCreated}; tabs in the browser: ${streams.tabsOpen} ` +
      "(the first one never carries requests).",
  );
  out.push(
    table(
      ["", "idle pool", `${streams.opened} streams open`, `per stream (÷ ${streams.gotFirstEvent})`],
      [
        [
          `Chromium PSS (${memory.chromium.open.processes} processes)`,
          mb(memory.chromium.before.pssMB),
          mb(memory.chromium.open.pssMB),
          mb(memory.perStreamMB.chromiumPss, 3),
        ],
        [
          "Chromium RSS summed (overcounts shared)",
          mb(memory.chromium.before.rssMB),
          mb(memory.chromium.open.rssMB),
          mb(memory.perStreamMB.chromiumRss, 3),
        ],
        [
          "Node RSS (allocator-dependent, not counted)",
          mb(memory.node.before.rssMB),
          mb(memory.node.open.rssMB),
          mb(memory.perStreamMB.nodeRss, 3),
        ],
        [
          "Node heap used + external (this process)",
          mb(memory.node.before.retainedMB),
          mb(memory.node.open.retainedMB),
          mb(memory.perStreamMB.nodeRetained, 3),
        ],
        ["Chromium PSS + Node heap + external", "", "", mb(memory.perStreamMB.total, 3)],
      ],
    ),
    "  each reading: median of 3, after a full collection in every page and in Node" +
      (memory.node.collected ? "" : " (Node's gc was unavailable)"),
    `  for scale: an idle tab on the fake's (tiny) page costs ${mb(tab.pssMBPerTab)} PSS ` +
      `(${tab.tabs} opened: ${tab.processesBefore} → ${tab.processesAfter} processes)`,
    ...errorLines("errors", memory.errors),
  );

  out.push("", "Targets");
  out.push(
    table(
      ["part", "measure", "result", "target", "verdict"],
      [
        [
          "1",
          "added time to first event, p50 / p99",
          `${signedMs(latency.firstEvent.added.p50)} / ${signedMs(latency.firstEvent.added.p99)}`,
          "—",
          "—",
        ],
        [
          "2",
          `memory per held stream beyond the pool (${streams.gotFirstEvent}/${streams.opened} streaming)`,
          mb(memory.perStreamMB.total, 3),
          `< ${mb(targets.megabytesPerHeldStream, 0)}, all streaming`,
          verdict(memory.pass),
        ],
      ],
      2,
    ),
  );
  process.stdout.write(`${out.join("\n")}\n`);
}
