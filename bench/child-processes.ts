import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { FakeScenario } from "../testing/fake-qwen/index.js";

// The fake upstream and the proxy each run in their own process, so the load generator in
// the benchmark process never steals event-loop time from what it measures. Both are started
// as `node --import tsx <file>` rather than through the `tsx` command: that command runs the
// script in a grandchild, and then the pid we hold (and its memory) would be the wrong one.

const repositoryRoot = fileURLToPath(new URL("..", import.meta.url));
const startTimeoutMs = 20_000;
const stopTimeoutMs = 5_000;
const running = new Set<ChildProcess>();
const dataDirectories = new Set<string>();

// A benchmark that crashes or is interrupted must leave neither servers nor data behind.
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
  for (const directory of dataDirectories) rmSync(directory, { recursive: true, force: true });
});
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

/**
 * How the proxy paces each account. "default" is what a user gets: one request at a time per
 * account, a second or so between starts (protection against Qwen's bot detection). "open"
 * takes the pacing away, so that what is measured is the proxy's own cost.
 */
export type Scheduler = "default" | "open";

const openScheduler = {
  ACCOUNT_CONCURRENCY: "100000",
  ACCOUNT_MIN_GAP_MS: "0",
  ACCOUNT_GAP_JITTER_MS: "0",
  QUEUE_LIMIT: "100000",
};

export interface FakeUpstreamChild {
  readonly url: string;
  readonly tokens: readonly string[];
  setScenario(scenario: FakeScenario | null): Promise<void>;
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

export interface ProxyProbe {
  cpuMs: number;
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  collected: boolean;
}

export interface ProxyChild {
  readonly url: string;
  readonly pid: number;
  /** CPU time so far, then memory after a full garbage collection (see probe-on-signal.ts). */
  probe(): Promise<ProxyProbe>;
  /** The last lines the proxy wrote to stderr, for failure reports. */
  stderrTail(): string[];
  stop(): Promise<void>;
}

export async function startFakeUpstream(accountCount: number): Promise<FakeUpstreamChild> {
  const child = spawnTracked(["--import", "tsx", "bench/fake-upstream-process.ts"], {
    PATH: process.env.PATH ?? "",
    BENCH_FAKE_ACCOUNTS: String(accountCount),
  });
  child.stderr?.on("data", (chunk: Buffer) => process.stderr.write(`[fake] ${chunk}`));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const readLine = async (): Promise<string> => {
    const next = await withTimeout(lines.next(), startTimeoutMs, "the fake upstream did not answer");
    if (next.done) throw new Error("the fake upstream exited");
    return next.value;
  };
  const ready = JSON.parse(await readLine()) as { url: string; tokens: string[] };
  // Commands are answered in order, one line each; a chain keeps callers from interleaving.
  let chain: Promise<unknown> = Promise.resolve();
  const command = <T>(payload: object): Promise<T> => {
    const result = chain.then(async () => {
      child.stdin!.write(`${JSON.stringify(payload)}\n`);
      return JSON.parse(await readLine()) as T;
    });
    chain = result.catch(() => {});
    return result;
  };
  return {
    url: ready.url,
    tokens: ready.tokens,
    setScenario: async (scenario) => {
      await command({ scenario });
    },
    cpuMs: async () => (await command<{ cpuMs: number }>({ probe: true })).cpuMs,
    stop: async () => {
      child.stdin!.end();
      await waitForExit(child);
    },
  };
}

export async function startProxy(options: {
  upstreamUrl: string;
  tokens: readonly string[];
  scheduler: Scheduler;
}): Promise<ProxyChild> {
  // The proxy keeps its chats (and account state) in DATA_DIR; a benchmark's thousands of
  // chats belong in a throw-away directory, never in the repository's ./data.
  const dataDirectory = await mkdtemp(join(tmpdir(), "freeqwenapi-bench-"));
  dataDirectories.add(dataDirectory);
  const child = spawnTracked(
    ["--expose-gc", "--import", "tsx", "--import", "./bench/probe-on-signal.ts", "src/cli/index.ts", "serve"],
    {
      // A clean environment: API_KEYS or DATA_DIR from the caller's shell must not leak in.
      PATH: process.env.PATH ?? "",
      PORT: "0",
      HOST: "127.0.0.1",
      QWEN_BASE_URL: options.upstreamUrl,
      QWEN_TOKENS: options.tokens.join(","),
      LOG_LEVEL: "silent",
      SHUTDOWN_GRACE_MS: "1000",
      DATA_DIR: dataDirectory,
      ...(options.scheduler === "open" ? openScheduler : {}),
    },
  );
  const tail: string[] = [];
  const probeWaiters: Array<(probe: ProxyProbe) => void> = [];
  let resolveUrl: (url: string) => void = () => {};
  const listening = new Promise<string>((resolve) => {
    resolveUrl = resolve;
  });
  const stderr: Interface = createInterface({ input: child.stderr! });
  stderr.on("line", (line) => {
    if (line.startsWith("bench-probe ")) {
      probeWaiters.shift()?.(JSON.parse(line.slice("bench-probe ".length)) as ProxyProbe);
      return;
    }
    tail.push(line);
    if (tail.length > 40) tail.shift();
    const match = /listening on (http:\/\/\S+)/.exec(line);
    if (match?.[1]) resolveUrl(match[1]);
  });
  const exited = once(child, "exit").then(() => {
    throw new Error(`the proxy exited before listening:\n${tail.join("\n")}`);
  });
  const url = await withTimeout(Promise.race([listening, exited]), startTimeoutMs, "the proxy did not start");
  exited.catch(() => {});
  return {
    url,
    pid: child.pid!,
    probe: () => {
      const answer = new Promise<ProxyProbe>((resolve) => probeWaiters.push(resolve));
      child.kill("SIGUSR2");
      return withTimeout(answer, startTimeoutMs, "the proxy did not answer the probe");
    },
    stderrTail: () => [...tail],
    stop: async () => {
      child.kill("SIGTERM");
      await waitForExit(child);
      await rm(dataDirectory, { recursive: true, force: true });
      dataDirectories.delete(dataDirectory);
    },
  };
}

function spawnTracked(args: string[], environment: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: repositoryRoot,
    env: environment,
    stdio: ["pipe", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

async function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = once(child, "exit");
  const timer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
  await exit;
  clearTimeout(timer);
}

async function withTimeout<T>(promise: Promise<T>, milliseconds: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${milliseconds} ms`)), milliseconds);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
