import { writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { startFakeUpstream, startProxy } from "./child-processes.js";
import {
  type BenchResults,
  type HeldResult,
  heldReport,
  holdThenClose,
  type LevelResult,
  type MemoryResult,
  measureLevel,
  measureTtfb,
  memoryStep,
  openAndSettle,
  settings,
  targets,
  warmUp,
} from "./measurements.js";
import { printReport } from "./report-table.js";
import { round } from "./statistics.js";
import {
  createLoadAgent,
  directTarget,
  healthRoundTrip,
  type PathName,
  proxyTarget,
  type StreamTarget,
} from "./stream-clients.js";
import { environment } from "./text-table.js";

// What the proxy itself costs: the same streamed answer from the fake upstream, asked for
// directly and through the proxy, side by side in one run. `npm run bench` prints a table and
// writes bench/results.json. The fake upstream and the proxy run as child processes, so the
// load generated here never shares an event loop with either. Everything stays on 127.0.0.1.

const outputUrl = new URL("./results.json", import.meta.url);
const runStarted = performance.now();
const loadBefore = loadavg()[0] ?? 0;

function progress(message: string): void {
  const seconds = ((performance.now() - runStarted) / 1000).toFixed(1).padStart(5);
  process.stderr.write(`[bench ${seconds} s] ${message}\n`);
}

async function main(): Promise<BenchResults> {
  const agent = createLoadAgent();
  progress("starting the fake upstream and the proxy");
  const fake = await startFakeUpstream(settings.manyAccounts);
  const firstToken = fake.tokens[0]!;
  // The account scheduler's pacing would measure itself, not the proxy: it is opened up
  // everywhere but in one held-streams run that shows what the defaults do.
  const proxy = await startProxy({ upstreamUrl: fake.url, tokens: [firstToken], scheduler: "open" });
  const paths: Record<PathName, StreamTarget> = {
    direct: directTarget(fake.url, firstToken, agent),
    proxy: proxyTarget(proxy.url, agent),
  };

  progress(`warming up: ${settings.warmupStreams} streams per path`);
  await warmUp(paths.direct, settings.warmupStreams);
  await warmUp(paths.proxy, settings.warmupStreams);

  progress(`time to first byte: ${settings.ttfbPairs} sequential streams per path, alternating`);
  const ttfb = await measureTtfb(paths, settings.ttfbPairs, () => healthRoundTrip(proxy.url, agent));
  const levels: LevelResult[] = [];
  for (const concurrency of settings.concurrencyLevels) {
    levels.push(
      await measureLevel(concurrency, paths, { proxy, proxyAccounts: 1, fake, onProgress: progress }),
    );
  }

  // Held streams: the upstream slows to one event every slowDelayMs, so streams stay open.
  // The direct run shows the fake and this load generator can hold them all.
  const held: HeldResult[] = [];
  await fake.setScenario({ kind: "slow-chunks", delayMs: settings.slowDelayMs });
  progress(`held: ${settings.heldStreams} streams at once, direct to the fake (control)`);
  const [direct, directWaitedMs] = await openAndSettle(paths.direct, settings.heldStreams);
  await holdThenClose(direct);
  held.push(heldReport("direct to the fake (control)", null, direct, directWaitedMs));

  progress(`held: ${settings.heldStreams} streams at once through the proxy, 1 account, no pacing`);
  const [single, singleWaitedMs] = await openAndSettle(paths.proxy, settings.heldStreams);
  await holdThenClose(single);
  held.push(heldReport("proxy, 1 account, no pacing", 1, single, singleWaitedMs));
  await proxy.stop();

  progress(`held: ${settings.heldStreams} streams at once through the proxy, 1 account, default pacing`);
  const paced = await startProxy({ upstreamUrl: fake.url, tokens: [firstToken], scheduler: "default" });
  const [pacedHeld, pacedWaitedMs] = await openAndSettle(proxyTarget(paced.url, agent), settings.heldStreams);
  await holdThenClose(pacedHeld);
  held.push(heldReport("proxy, 1 account, default pacing", 1, pacedHeld, pacedWaitedMs));
  await fake.setScenario(null);
  await paced.stop();

  // A fresh proxy with enough accounts that the per-account connection pool is not the limit,
  // so what is measured is what each stream costs, not what a queue costs.
  progress(`a fresh proxy with ${settings.manyAccounts} accounts`);
  const wide = await startProxy({ upstreamUrl: fake.url, tokens: fake.tokens, scheduler: "open" });
  const wideTarget = proxyTarget(wide.url, agent);
  await warmUp(wideTarget, settings.warmupStreams);
  // The busiest level again, now that one account's connection pool cannot be the limit.
  const busiest = Math.max(...settings.concurrencyLevels);
  levels.push(
    await measureLevel(
      busiest,
      { direct: paths.direct, proxy: wideTarget },
      { proxy: wide, proxyAccounts: settings.manyAccounts, fake, onProgress: progress },
    ),
  );

  await fake.setScenario({ kind: "slow-chunks", delayMs: settings.slowDelayMs });
  const memory: MemoryResult = { accounts: settings.manyAccounts, steps: [] };
  progress(`memory: ${settings.memoryStreams} streams at once, held`);
  await sleep(1_000);
  let baseline = await wide.probe();
  const [few] = await openAndSettle(wideTarget, settings.memoryStreams);
  memory.steps.push(memoryStep(few, baseline, await wide.probe()));
  await few.close();

  progress(
    `held and memory: ${settings.heldStreams} streams at once through the proxy with ${settings.manyAccounts} accounts`,
  );
  await sleep(1_000);
  baseline = await wide.probe();
  const [many, manyWaitedMs] = await openAndSettle(wideTarget, settings.heldStreams);
  memory.steps.push(memoryStep(many, baseline, await wide.probe()));
  await holdThenClose(many);
  held.push(
    heldReport(
      `proxy, ${settings.manyAccounts} accounts, no pacing`,
      settings.manyAccounts,
      many,
      manyWaitedMs,
    ),
  );
  await fake.setScenario(null);
  await wide.stop();
  await fake.stop();
  await agent.close();
  return {
    generatedAt: new Date().toISOString(),
    environment: environment(loadBefore),
    settings,
    targets,
    ttfb,
    levels,
    memory,
    held,
    runSeconds: round((performance.now() - runStarted) / 1000, 1),
  };
}

const results = await main();
await writeFile(outputUrl, `${JSON.stringify(results, null, 2)}\n`);
printReport(results);
process.stdout.write(`\nWritten to bench/results.json (${results.runSeconds} s run)\n`);
