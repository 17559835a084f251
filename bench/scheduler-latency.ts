import { performance } from "node:perf_hooks";
import { type Account, AccountPool } from "../src/accounts/account-pool.js";
import type { Transport } from "../src/transport/transport.js";

// What the account scheduler itself adds to a request: AccountPool alone, no network.
// `npx tsx bench/scheduler-latency.ts` — 50 accounts, concurrency 1, no pacing gap.
//
// 1. acquire() when an account is free: from the call until the account is in hand.
// 2. 500 requests at once, each holding its account 0–5 ms: most must queue. A queued request
//    cannot be served before some account is released, so the wait until that release is
//    unavoidable; what the scheduler adds is the hand-over, from release() being called until
//    the waiting request holds the account, and the time release() itself takes.

const ACCOUNTS = 50;
const CONCURRENT = 500;
const FREE_ITERATIONS = 20_000;
const QUEUED_ROUNDS = 20;
const DEADLINE_MS = 30_000;

const offline: Transport = {
  kind: "direct",
  request: async () => {
    throw new Error("the benchmark sends no requests");
  },
  close: async () => {},
};

function token(id: number): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode({ id: `bench-${id}`, exp })}.c2ln`;
}

function makePool(): AccountPool {
  const pool = new AccountPool({
    baseUrl: "http://127.0.0.1:9",
    transportFor: () => offline,
    concurrency: 1,
    minGapMs: 0,
    gapJitterMs: 0,
    queueLimit: CONCURRENT,
    queueTimeoutMs: DEADLINE_MS,
  });
  for (let id = 0; id < ACCOUNTS; id++) pool.addToken(token(id));
  return pool;
}

interface Row {
  measure: string;
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles, in µs, of values given in ms. */
function row(measure: string, valuesMs: number[]): Row {
  const sorted = valuesMs.map((value) => value * 1000).sort((left, right) => left - right);
  const at = (fraction: number) => sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)] ?? Number.NaN;
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    measure,
    count: sorted.length,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: total / sorted.length,
  };
}

function printTable(title: string, rows: Row[]): void {
  const format = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
  const header = ["measure", "n", "p50 µs", "p99 µs", "max µs", "mean µs"];
  const lines = rows.map((item) => [
    item.measure,
    String(item.count),
    format(item.p50),
    format(item.p99),
    format(item.max),
    format(item.mean),
  ]);
  const widths = header.map((name, column) =>
    Math.max(name.length, ...lines.map((line) => line[column]!.length)),
  );
  const render = (cells: string[]) =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(" | ")} |`;
  console.log(`\n${title}`);
  console.log(render(header));
  const rule = widths.map((width, column) =>
    column === 0 ? `:${"-".repeat(width + 1)}` : `${"-".repeat(width + 1)}:`,
  );
  console.log(`|${rule.join("|")}|`);
  for (const line of lines) console.log(render(line));
}

/** Free accounts: acquire, release at once; `busy` accounts are held the whole time. */
async function freeAcquire(busy: number): Promise<number[]> {
  const pool = makePool();
  for (let index = 0; index < busy; index++) await pool.acquire();
  const samples: number[] = [];
  for (let iteration = 0; iteration < FREE_ITERATIONS; iteration++) {
    const started = performance.now();
    const account = await pool.acquire();
    samples.push(performance.now() - started);
    pool.release(account);
  }
  await pool.close();
  // The first thousand warm up the JIT.
  return samples.slice(1000);
}

interface QueuedRound {
  /** How long the acquire() call itself runs before it returns its promise (queueing included). */
  call: number[];
  /** Queued requests: release() of their account until they hold it. */
  handOver: number[];
  /** How long release() itself runs (it serves the queue synchronously). */
  release: number[];
  /** Queued requests: arrival until they hold an account (mostly the unavoidable wait). */
  waited: number[];
  /** Whole round, and the least it could take given the hold times drawn. */
  elapsedMs: number;
  idealMs: number;
  served: number;
}

async function queuedRound(): Promise<QueuedRound> {
  const pool = makePool();
  const releasedAt = new Map<Account, number>();
  const round: QueuedRound = {
    call: [],
    handOver: [],
    release: [],
    waited: [],
    elapsedMs: 0,
    idealMs: 0,
    served: 0,
  };
  const holds = Array.from({ length: CONCURRENT }, () => Math.random() * 5);
  // A lower bound for the round: the holds spread perfectly over the accounts.
  round.idealMs = Math.max(holds.reduce((sum, hold) => sum + hold, 0) / ACCOUNTS, Math.max(...holds));
  const started = performance.now();
  await Promise.all(
    holds.map(async (hold) => {
      const arrived = performance.now();
      const queued = pool.waiting > 0 || pool.accounts().every((account) => account.inFlight > 0);
      const pending = pool.acquire();
      round.call.push(performance.now() - arrived);
      const account = await pending;
      const inHand = performance.now();
      if (queued) {
        round.waited.push(inHand - arrived);
        const released = releasedAt.get(account);
        if (released !== undefined) round.handOver.push(inHand - released);
      }
      await new Promise((resolve) => setTimeout(resolve, hold));
      const releasing = performance.now();
      releasedAt.set(account, releasing);
      pool.release(account);
      round.release.push(performance.now() - releasing);
      round.served++;
    }),
  );
  round.elapsedMs = performance.now() - started;
  await pool.close();
  return round;
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error(`Benchmark exceeded ${DEADLINE_MS / 1000} s; stopping.`);
    process.exit(1);
  }, DEADLINE_MS);
  deadline.unref();
  const began = performance.now();

  console.log(
    `AccountPool: ${ACCOUNTS} accounts, concurrency 1, gap 0; Node ${process.version}, ${process.platform}/${process.arch}`,
  );

  const idle = await freeAcquire(0);
  const crowded = await freeAcquire(ACCOUNTS - 1);
  printTable(`1. acquire() when an account is free (${FREE_ITERATIONS - 1000} each, after warm-up)`, [
    row("all 50 accounts free", idle),
    row("49 of 50 accounts busy", crowded),
  ]);

  const rounds: QueuedRound[] = [];
  for (let index = 0; index < QUEUED_ROUNDS; index++) rounds.push(await queuedRound());
  const all = (pick: (round: QueuedRound) => number[]) => rounds.flatMap(pick);
  printTable(`2. ${CONCURRENT} concurrent acquire/hold 0–5 ms/release cycles, ${QUEUED_ROUNDS} rounds`, [
    row(
      "acquire() call until it returns",
      all((round) => round.call),
    ),
    row(
      "queued: release() → in hand (overhead)",
      all((round) => round.handOver),
    ),
    row(
      "release() itself (serves the queue)",
      all((round) => round.release),
    ),
    row(
      "queued: arrival → in hand (wait)",
      all((round) => round.waited),
    ),
  ]);

  const served = rounds.reduce((sum, round) => sum + round.served, 0);
  const elapsed = rounds.reduce((sum, round) => sum + round.elapsedMs, 0);
  const ideal = rounds.reduce((sum, round) => sum + round.idealMs, 0);
  console.log(
    `\nServed ${served}/${CONCURRENT * QUEUED_ROUNDS}; rounds took ${(elapsed / QUEUED_ROUNDS).toFixed(1)} ms on average ` +
      `against a lower bound of ${(ideal / QUEUED_ROUNDS).toFixed(1)} ms from the drawn hold times ` +
      "(the difference is mostly setTimeout's granularity in the holds, not the scheduler).",
  );
  console.log(`Total ${((performance.now() - began) / 1000).toFixed(1)} s.`);
  clearTimeout(deadline);
}

await main();
