import type { Added, BenchResults, ErrorCounts } from "./measurements.js";
import type { Summary } from "./statistics.js";
import { type Cell, ms, signedMs, table, verdict } from "./text-table.js";

// The human-readable half of the results: fixed-width tables, each with its target beside it.

function errorLines(label: string, errors: ErrorCounts): string[] {
  return Object.entries(errors).map(([message, count]) => `    ${label}: ${count} × ${message}`);
}

export function printReport(results: BenchResults): void {
  const { environment, settings, targets, ttfb, levels, memory, held } = results;
  const out: string[] = [];
  out.push(
    "",
    `FreeQwenApi proxy overhead — node ${environment.node}, ${environment.platform}, ` +
      `${environment.cpus} × ${environment.cpuModel}`,
    `Load average before/after the run: ${environment.loadAverage.before} / ${environment.loadAverage.after} ` +
      "(other work on the machine skews everything below).",
    "Fake upstream without delay between events; proxy with LOG_LEVEL=silent; each in its own process.",
    "Direct = POST /api/v2/chats/new + POST /api/v2/chat/completions against the fake;",
    "proxy  = POST /v1/chat/completions with stream:true (the proxy makes the same two calls).",
    "The proxy's account pacing (1 request per account, ~1 s apart) is switched off so that its own",
    'cost is measured (ACCOUNT_CONCURRENCY, ACCOUNT_MIN_GAP_MS=0…), except in the "default pacing" row.',
    "Each account also has its own pool of 16 upstream connections, which pacing does not change.",
  );

  out.push("", `1. Time to first byte, one stream at a time (${ttfb.pairs} per path, alternating)`);
  const summaryRow = (label: string, summary: Summary): Cell[] => [
    label,
    ms(summary.p50, 3),
    ms(summary.p99, 3),
    ms(summary.mean, 3),
  ];
  const addedRow = (label: string, added: Added): Cell[] => [
    label,
    ...[added.p50, added.p99, added.mean].map((value) => signedMs(value, 3)),
  ];
  out.push(
    table(
      ["", "p50", "p99", "mean"],
      [
        summaryRow("direct, first byte", ttfb.directMs),
        summaryRow("proxy, first byte", ttfb.proxyMs),
        addedRow("added by the proxy", ttfb.addedMs),
        summaryRow("direct, first answer text", ttfb.directFirstAnswerMs),
        summaryRow("proxy, first answer text", ttfb.proxyFirstAnswerMs),
        addedRow("added to the first answer", ttfb.addedToFirstAnswerMs),
        summaryRow("GET /health via the proxy", ttfb.healthRoundTripMs),
      ],
    ),
    `  target: added first byte p50 < ${targets.addedTtfbP50Ms} ms → ${verdict(ttfb.pass)}`,
    "  (the proxy opens its stream at upstream's first visible event, the direct first byte is",
    '  upstream\'s response.created; "first answer text" compares both paths at the same point)',
    `  whole streams, one at a time: direct ${ms(ttfb.fullStreamMs.direct.mean)}, proxy ` +
      `${ms(ttfb.fullStreamMs.proxy.mean)} mean → ratio ${ttfb.fullStreamRatio.toFixed(3)}`,
    ...errorLines("errors", ttfb.errors),
  );

  out.push(
    "",
    `2–3. Whole streams in a closed loop, ${settings.levelDurationMs / 1000} s per path and level in ` +
      `${settings.levelRounds} alternating rounds (CPU = milliseconds per completed stream)`,
  );
  const rows: Cell[][] = [];
  for (const level of levels) {
    for (const path of ["direct", "proxy"] as const) {
      const run = level[path];
      rows.push([
        path === "direct" ? level.concurrency : "",
        path === "direct" ? "direct" : `proxy, ${level.proxyAccounts} acct`,
        run.completionsPerSecond.toFixed(1),
        ms(run.streamMs.p50),
        ms(run.streamMs.p99),
        ms(run.ttfbMs.p50),
        ms(run.ttfbMs.p99),
        path === "proxy" ? run.proxyCpuMsPerCompletion.toFixed(2) : "",
        run.fakeCpuMsPerCompletion.toFixed(2),
        run.loadGeneratorCpuMsPerCompletion.toFixed(2),
        run.failed,
      ]);
    }
  }
  out.push(
    table(
      [
        "streams",
        "path",
        "completions/s",
        "stream p50",
        "stream p99",
        "ttfb p50",
        "ttfb p99",
        "proxy CPU",
        "fake CPU",
        "bench CPU",
        "failed",
      ],
      rows,
      2,
    ),
  );
  for (const level of levels) {
    const label = `${level.concurrency} stream(s), proxy with ${level.proxyAccounts} account(s):`;
    const target =
      level.concurrency === 100
        ? `   target < ${targets.overheadRatioAt100} → ${verdict(level.streamTimeRatio.mean < targets.overheadRatioAt100)}`
        : "";
    out.push(
      `  ${label.padEnd(42)} proxy/direct mean stream time ×${level.streamTimeRatio.mean.toFixed(3)}, ` +
        `throughput ×${level.throughputRatio.toFixed(3)}${target}`,
    );
  }
  for (const level of levels) {
    out.push(...errorLines(`${level.concurrency} direct`, level.direct.errors));
    out.push(...errorLines(`${level.concurrency} proxy`, level.proxy.errors));
  }

  out.push(
    "",
    `4. Proxy memory per open stream (fresh proxy, ${memory.accounts} accounts, each probe after a full GC)`,
  );
  out.push(
    table(
      [
        "open streams",
        "answered",
        "RSS before",
        "RSS open",
        "heap open",
        "RSS per stream",
        "heap per stream",
        "verdict",
      ],
      memory.steps.map((step) => [
        step.openStreams,
        step.answered,
        `${step.baselineRssMB} MB`,
        `${step.rssMB} MB`,
        `${step.heapUsedMB} MB`,
        `${step.rssKBPerStream} KB`,
        `${step.heapKBPerStream} KB`,
        verdict(step.pass),
      ]),
    ),
    `  target: < ${targets.kilobytesPerOpenStream} KB RSS per open stream`,
  );

  out.push(
    "",
    `5. Streams opened at once and held (upstream: one event every ${settings.slowDelayMs} ms, ` +
      "answer text from its second event)",
  );
  out.push(
    table(
      [
        "setup",
        "opened",
        "answered",
        "failed/ended",
        "still waiting",
        "1st answer p50",
        "p99",
        "max",
        "waited",
        "verdict",
      ],
      held.map((row) => [
        row.setup,
        row.opened,
        row.gotFirstAnswer,
        row.endedOrFailedEarly,
        row.stillWaiting,
        ms(row.firstAnswerMs.p50, 0),
        ms(row.firstAnswerMs.p99, 0),
        ms(row.firstAnswerMs.max, 0),
        ms(row.waitedMs, 0),
        verdict(row.pass),
      ]),
    ),
  );
  for (const row of held) out.push(...errorLines(row.setup, row.errors));
  process.stdout.write(`${out.join("\n")}\n`);
}
