import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { FakeScenario } from "../testing/fake-qwen/index.js";
import type { Certificate, FrontStatistics } from "./http2-front.js";

// Starts bench/http2-upstream-process.ts (the fake behind the HTTP/2 front) as a child process
// and talks to it over its stdin and stdout.

export interface Http2Upstream {
  /** The fake itself, plain HTTP/1.1. */
  readonly url: string;
  /** The front: HTTPS, HTTP/2; null when started without a certificate. */
  readonly httpsUrl: string | null;
  readonly token: string;
  setScenario(scenario: FakeScenario | null): Promise<void>;
  statistics(): Promise<FrontStatistics>;
  stop(): Promise<void>;
}

const repositoryRoot = fileURLToPath(new URL("..", import.meta.url));
const startTimeoutMs = 20_000;

/** Without a certificate the fake runs alone, plain HTTP/1.1. */
export async function startHttp2Upstream(certificate: Certificate | undefined): Promise<Http2Upstream> {
  // `node --import tsx` rather than the tsx command, which would run it in a grandchild.
  const child = spawn(process.execPath, ["--import", "tsx", "bench/http2-upstream-process.ts"], {
    cwd: repositoryRoot,
    env: { PATH: process.env.PATH ?? "" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const readLine = async (): Promise<string> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the HTTP/2 upstream did not answer")), startTimeoutMs);
    });
    try {
      const next = await Promise.race([lines.next(), timeout]);
      if (next.done) throw new Error("the HTTP/2 upstream exited");
      return next.value;
    } finally {
      clearTimeout(timer);
    }
  };
  const pem = certificate ? { key: certificate.key.toString(), cert: certificate.cert.toString() } : {};
  child.stdin.write(`${JSON.stringify(pem)}\n`);
  const ready = JSON.parse(await readLine()) as { url: string; httpsUrl: string | null; token: string };
  // One command at a time: each is answered by the next line.
  let chain: Promise<unknown> = Promise.resolve();
  const command = <T>(payload: object): Promise<T> => {
    const result = chain.then(async () => {
      child.stdin.write(`${JSON.stringify(payload)}\n`);
      return JSON.parse(await readLine()) as T;
    });
    chain = result.catch(() => {});
    return result;
  };
  let stopped: Promise<void> | undefined;
  return {
    ...ready,
    setScenario: async (scenario) => {
      await command({ scenario });
    },
    statistics: () => command<FrontStatistics>({ statistics: true }),
    stop: () => {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = once(child, "exit");
          child.stdin.end();
          const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
          await exited;
          clearTimeout(timer);
        }
        process.off("exit", killOnExit);
      })();
      return stopped;
    },
  };
}
