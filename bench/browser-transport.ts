import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AccountBrowser } from "../src/browser/account-browser.js";
import { QwenClient } from "../src/qwen/client.js";
import { BrowserTransport } from "../src/transport/browser.js";
import { DirectTransport } from "../src/transport/direct.js";
import { startFakeQwen } from "../testing/fake-qwen/index.js";
import {
  type BrowserBenchResults,
  type HeldStreams,
  type Http1Limit,
  type LatencyResult,
  type MemoryResult,
  printBrowserReport,
  type TabCost,
} from "./browser-report.js";
import {
  collectPageGarbage,
  type Errors,
  inPageTimeToHead,
  noteError,
  openHeld,
  resetResourceTimings,
  type Sample,
  timeCompletion,
  timeEach,
} from "./browser-streams.js";
import { makeSelfSignedCertificate } from "./http2-front.js";
import { startHttp2Upstream } from "./http2-upstream.js";
import { chromiumMemory, nodeMemory, type ProcessGroupMemory } from "./process-memory.js";
import { round, roundSummary, summarise } from "./statistics.js";
import { environment } from "./text-table.js";
import { TimedTransport } from "./timed-transport.js";

// What the browser path costs next to the direct one: the same streamed completion through
// QwenClient, once over DirectTransport (undici) and once over BrowserTransport (fetch inside
// a pooled Chromium page, streamed back through one binding), against the fake chat.qwen.ai.
// Then the memory of 100 in-page streams held open at once through a pool of 2 pages.
// `npx tsx bench/browser-transport.ts`; prints tables, writes bench/results-browser.json.
// Everything stays on 127.0.0.1 and the run is bounded (see `settings.deadlineMs`).

const settings = {
  model: "qwen3.7-plus",
  poolPages: 2,
  warmupPairs: 10,
  latencyPairs: 100,
  heldStreams: 100,
  /** Upstream's pause before each event while streams are held (the first one included). */
  slowDelayMs: 3_000,
  /** How long held streams may take to all show their first event. */
  heldOpenTimeoutMs: 20_000,
  /** Extra idle tabs opened to price what a tab per request would cost. */
  extraTabs: 4,
  deadlineMs: 170_000,
};

const targets = {
  /** Chromium (PSS) plus Node (heap used + external) per held stream, beyond the idle pool. */
  megabytesPerHeldStream: 1,
};

const outputUrl = new URL("./results-browser.json", import.meta.url);
const runStarted = performance.now();
const loadBefore = loadavg()[0] ?? 0;
const MB = 1024 * 1024;

function progress(message: string): void {
  const seconds = ((performance.now() - runStarted) / 1000).toFixed(1).padStart(5);
  process.stderr.write(`[bench ${seconds} s] ${message}\n`);
}

// Bounded whatever happens: a stuck browser must not hold the run (or the machine) forever.
const deadline = setTimeout(() => {
  process.stderr.write(`browser benchmark: still running after ${settings.deadlineMs} ms, giving up\n`);
  process.exit(1);
}, settings.deadlineMs);
deadline.unref();

const dataDirectory = await mkdtemp(join(tmpdir(), "fqa-bench-browser-"));
const cleanups: Array<() => Promise<void>> = [];
// The profiles must not outlive an interrupted run either (Playwright kills its browsers on exit).
process.once("exit", () => rmSync(dataDirectory, { recursive: true, force: true }));
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

async function main(): Promise<BrowserBenchResults> {
  progress("starting the fake upstream (in process) and Chromium with a pool of 2 pages");
  const fake = await startFakeQwen({ chunkDelayMs: 0 });
  cleanups.push(() => fake.close());
  const { token } = fake.addAccount({ email: "bench-browser@example.com", password: "bench" });
  const plainBrowser = await openAccountBrowser("bench-http1", fake.url, token, []);
  const chromiumVersion = (await plainBrowser.context()).browser()?.version() ?? "unknown";

  const direct = new TimedTransport(new DirectTransport());
  const inPage = new TimedTransport(new BrowserTransport({ pages: plainBrowser.pool }));
  const clients = {
    direct: new QwenClient({ baseUrl: fake.url, transport: direct, credentials: { token } }),
    browser: new QwenClient({ baseUrl: fake.url, transport: inPage, credentials: { token } }),
  };

  progress(`warming up: ${settings.warmupPairs} completions per path`);
  const errors: Errors = {};
  for (let index = 0; index < settings.warmupPairs; index++) {
    await timeCompletion(clients.direct, direct, settings.model).catch((error) => noteError(errors, error));
    await timeCompletion(clients.browser, inPage, settings.model).catch((error) => noteError(errors, error));
  }
  for (const key of Object.keys(errors)) delete errors[key];

  progress(`latency: ${settings.latencyPairs} sequential pairs, alternating which path goes first`);
  const plainContext = await plainBrowser.context();
  await resetResourceTimings(plainContext);
  const samples: Record<"direct" | "browser", Sample[]> = { direct: [], browser: [] };
  for (let index = 0; index < settings.latencyPairs; index++) {
    const order = index % 2 === 0 ? (["direct", "browser"] as const) : (["browser", "direct"] as const);
    for (const path of order) {
      const timed = path === "direct" ? direct : inPage;
      try {
        samples[path].push(await timeCompletion(clients[path], timed, settings.model));
      } catch (error) {
        noteError(errors, error);
      }
    }
  }
  // For scale: one DevTools round trip into a page, and the pool's taking of a page (it checks
  // the page's health with a round trip of its own) around one; every in-page request pays both.
  const page = await plainBrowser.pool.withPage(async (pooled) => pooled);
  const evaluateMs = await timeEach(settings.latencyPairs, () => page.evaluate("0"));
  const withPageMs = await timeEach(settings.latencyPairs, () =>
    plainBrowser.pool.withPage((pooled) => pooled.evaluate("0")),
  );
  const inPageToHead = await inPageTimeToHead(plainContext);
  const latency = latencyResult(samples, errors, {
    inPageFetchToHeadMs: roundSummary(summarise(inPageToHead), 3),
    evaluateMs: roundSummary(summarise(evaluateMs), 3),
    withPageEvaluateMs: roundSummary(summarise(withPageMs), 3),
  });

  progress(`HTTP/1.1 limit: ${settings.heldStreams} in-page streams at once against the plain-HTTP fake`);
  fake.setScenario({ kind: "slow-chunks", delayMs: settings.slowDelayMs });
  const waitMs = settings.slowDelayMs + 2_000;
  const blocked = await openHeld(clients.browser, inPage, settings.heldStreams, settings.model, waitMs);
  const http1Limit: Http1Limit = {
    streams: settings.heldStreams,
    gotHeaders: blocked.gotHeaders(),
    gotFirstEvent: blocked.gotFirstEvent(),
    waitedMs: round(blocked.waitedMs, 0),
  };
  await blocked.close();
  fake.clearScenario();
  await direct.close();
  await plainBrowser.close();

  const memory = await measureHeldMemory();
  return {
    generatedAt: new Date().toISOString(),
    environment: { ...environment(loadBefore), chromium: chromiumVersion },
    settings,
    targets,
    latency,
    http1Limit,
    ...memory,
    runSeconds: round((performance.now() - runStarted) / 1000, 1),
  };
}

/**
 * 100 streams held open through 2 pages, against the fake behind an HTTP/2 front in a child
 * process (so this process's memory is the browser path's own), then the price of a tab.
 */
async function measureHeldMemory(): Promise<{ memory: MemoryResult; tab: TabCost }> {
  progress("making a self-signed certificate; starting the fake behind HTTPS/HTTP2 in a child process");
  let certificateProblem: string | undefined;
  const certificate = await makeSelfSignedCertificate().catch((error: unknown) => {
    certificateProblem = error instanceof Error ? error.message.split("\n")[0] : String(error);
    progress(`no certificate (${certificateProblem}): measuring over HTTP/1.1, 6 connections per host`);
    return undefined;
  });
  const upstream = await startHttp2Upstream(certificate);
  cleanups.push(() => upstream.stop());
  const baseUrl = upstream.httpsUrl ?? upstream.url;
  // The certificate is ours and made a moment ago; nothing else is reached with this browser.
  const browser = await openAccountBrowser(
    "bench-http2",
    baseUrl,
    upstream.token,
    upstream.httpsUrl ? ["--ignore-certificate-errors"] : [],
  );
  const context = await browser.context();
  const transport = new TimedTransport(new BrowserTransport({ pages: browser.pool }));
  const client = new QwenClient({
    baseUrl,
    transport,
    credentials: { token: upstream.token },
  });
  // Warm: the HTTP/2 session, the binding, the pages' and Node's compiled code.
  for (let index = 0; index < settings.warmupPairs; index++) {
    for await (const _event of client.streamCompletion({
      chatId: await client.createChat({ model: settings.model }),
      model: settings.model,
      content: "warm",
    }));
  }

  progress("memory before: idle pool, after a full collection in the pages and in Node");
  const before = await sampleMemory(browser.profileDirectory, context);

  progress(
    `memory while ${settings.heldStreams} streams are held open (an event every ${settings.slowDelayMs} ms)`,
  );
  await upstream.setScenario({ kind: "slow-chunks", delayMs: settings.slowDelayMs });
  const held = await openHeld(
    client,
    transport,
    settings.heldStreams,
    settings.model,
    settings.heldOpenTimeoutMs,
    {
      untilAllFirstEvents: true,
    },
  );
  await sleep(500);
  const open = await sampleMemory(browser.profileDirectory, context);
  const front = await upstream.statistics();
  const heldStreams: HeldStreams = {
    opened: settings.heldStreams,
    gotHeaders: held.gotHeaders(),
    gotFirstEvent: held.gotFirstEvent(),
    failed: held.failed(),
    firstEventMs: roundSummary(summarise(held.firstEventMs()), 0),
    waitedMs: round(held.waitedMs, 0),
    pagesCreated: browser.pool.pagesCreated,
    tabsOpen: context.pages().length,
    front,
  };
  await held.close();
  await upstream.setScenario(null);
  const errors = held.errors();

  // Per stream that actually streamed: without HTTP/2 only 6 do, the rest wait in Chromium.
  const perStream = (bytes: number) => round(bytes / heldStreams.gotFirstEvent / MB, 3);
  const chromiumPss = perStream(open.chromium.pssBytes - before.chromium.pssBytes);
  // Node's RSS after a collection moves with what the allocator hands back (it can shrink while
  // 100 streams open), so what counts is what the heap and external buffers retain.
  const retained = (memory: MemorySample) => memory.node.heapUsedBytes + memory.node.externalBytes;
  const nodeRetained = perStream(retained(open) - retained(before));
  const memory: MemoryResult = {
    protocol: front.requestsByHttpVersion["2.0"]
      ? "HTTP/2 over TLS"
      : upstream.httpsUrl
        ? "HTTP/1.1 over TLS"
        : `plain HTTP/1.1 (no HTTP/2 front: ${certificateProblem})`,
    streams: heldStreams,
    chromium: { before: megabytes(before.chromium), open: megabytes(open.chromium) },
    node: {
      before: { rssMB: toMB(before.node.rssBytes), retainedMB: toMB(retained(before)) },
      open: { rssMB: toMB(open.node.rssBytes), retainedMB: toMB(retained(open)) },
      collected: before.node.collected,
    },
    perStreamMB: {
      chromiumPss,
      chromiumRss: perStream(open.chromium.rssBytes - before.chromium.rssBytes),
      nodeRss: perStream(open.node.rssBytes - before.node.rssBytes),
      nodeRetained,
      total: round(chromiumPss + nodeRetained, 3),
    },
    errors,
    pass:
      heldStreams.gotFirstEvent === settings.heldStreams &&
      chromiumPss + nodeRetained < targets.megabytesPerHeldStream,
  };

  progress(`for scale: ${settings.extraTabs} more idle tabs on the same origin`);
  await sleep(500);
  const beforeTabs = await sampleMemory(browser.profileDirectory, context);
  const tabs = [];
  for (let index = 0; index < settings.extraTabs; index++) {
    const page = await context.newPage();
    await page.goto(`${baseUrl}/`, { waitUntil: "load" });
    tabs.push(page);
  }
  await sleep(500);
  const withTabs = await sampleMemory(browser.profileDirectory, context);
  const tab: TabCost = {
    tabs: settings.extraTabs,
    pssMBPerTab: round(
      (withTabs.chromium.pssBytes - beforeTabs.chromium.pssBytes) / settings.extraTabs / MB,
      1,
    ),
    processesBefore: beforeTabs.chromium.processes,
    processesAfter: withTabs.chromium.processes,
  };
  for (const page of tabs) await page.close();
  await client.close();
  await browser.close();
  await upstream.stop();
  return { memory, tab };
}

async function openAccountBrowser(
  accountId: string,
  baseUrl: string,
  token: string,
  extraArgs: string[],
): Promise<AccountBrowser> {
  const browser = new AccountBrowser({
    accountId,
    dataDir: dataDirectory,
    baseUrl,
    headless: true,
    poolSize: settings.poolPages,
    extraArgs,
  });
  cleanups.push(() => browser.close());
  await browser.injectToken(token);
  await browser.start();
  await browser.pool.warm();
  return browser;
}

interface MemorySample {
  chromium: ProcessGroupMemory;
  node: ReturnType<typeof nodeMemory>;
}

/** Median of three readings, each after a full collection in every page and in Node. */
async function sampleMemory(
  profileDirectory: string,
  context: Awaited<ReturnType<AccountBrowser["context"]>>,
): Promise<MemorySample> {
  const readings: MemorySample[] = [];
  for (let index = 0; index < 3; index++) {
    if (index > 0) await sleep(300);
    await collectPageGarbage(context);
    const node = nodeMemory();
    readings.push({ chromium: await chromiumMemory(profileDirectory), node });
  }
  const median = <T>(pick: (sample: MemorySample) => number, make: (sample: MemorySample) => T): T =>
    make([...readings].sort((left, right) => pick(left) - pick(right))[1]!);
  return {
    chromium: median(
      (sample) => sample.chromium.pssBytes,
      (sample) => sample.chromium,
    ),
    node: median(
      (sample) => sample.node.rssBytes,
      (sample) => sample.node,
    ),
  };
}

function latencyResult(
  samples: Record<"direct" | "browser", Sample[]>,
  errors: Errors,
  scale: LatencyResult["scale"],
): LatencyResult {
  const pick = (path: "direct" | "browser", field: keyof Sample) =>
    summarise(samples[path].map((sample) => sample[field]));
  const fields = ["headers", "firstByte", "firstEvent", "firstText", "whole", "createChat"] as const;
  const result = { pairs: settings.latencyPairs, errors, scale } as LatencyResult;
  for (const field of fields) {
    const direct = pick("direct", field);
    const browser = pick("browser", field);
    result[field] = {
      direct: roundSummary(direct, 3),
      browser: roundSummary(browser, 3),
      added: {
        p50: round(browser.p50 - direct.p50, 3),
        p99: round(browser.p99 - direct.p99, 3),
        mean: round(browser.mean - direct.mean, 3),
      },
    };
  }
  return result;
}

const toMB = (bytes: number) => round(bytes / MB, 1);
const megabytes = (memory: ProcessGroupMemory) => ({
  pssMB: toMB(memory.pssBytes),
  rssMB: toMB(memory.rssBytes),
  processes: memory.processes,
});

try {
  const results = await main();
  await writeFile(outputUrl, `${JSON.stringify(results, null, 2)}\n`);
  printBrowserReport(results);
  process.stdout.write(`\nWritten to bench/results-browser.json (${results.runSeconds} s run)\n`);
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await rm(dataDirectory, { recursive: true, force: true });
  clearTimeout(deadline);
}
