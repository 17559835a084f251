import { setMaxListeners } from "node:events";
import { createInterface } from "node:readline";
import { type FakeScenario, startFakeQwen } from "../testing/fake-qwen/index.js";
import { type Certificate, type FrontStatistics, startHttp2Front } from "./http2-front.js";

// The fake chat.qwen.ai behind the HTTP/2 front (http2-front.ts), in a child process of the
// browser benchmark: the benchmark process's memory is then the proxy's side of the browser
// path alone (client, transport, Playwright), not also the upstream's hundred open streams.
//
// stdin:  first line `{"key", "cert"}` (PEM text), or `{}` for the fake alone (no openssl);
//         then one JSON command per line, each answered by one JSON line on stdout:
//         `{"scenario": <FakeScenario> | null}` → `{"ok": true}`;
//         `{"statistics": true}` → the front's FrontStatistics (all zero without a front).
// stdout: `{"url", "httpsUrl", "token"}` once listening; `httpsUrl` is null without a front.

// A hundred slowed streams each add an abort listener to the fake's one shared signal.
setMaxListeners(0);

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const first = await lines.next();
if (first.done) process.exit(1);
const pem = JSON.parse(first.value) as { key?: string; cert?: string };
const certificate: Certificate | undefined =
  pem.key && pem.cert ? { key: Buffer.from(pem.key), cert: Buffer.from(pem.cert) } : undefined;

const fake = await startFakeQwen({ port: 0, chunkDelayMs: 0 });
const front = certificate ? await startHttp2Front({ target: fake.url, certificate }) : undefined;
const noFront: FrontStatistics = { requestsByHttpVersion: {}, connections: 0, active: 0 };
const { token } = fake.addAccount({ email: "bench-browser@example.com", password: "bench" });
// The fake logs every request with its headers and body; nobody reads that log here.
setInterval(() => fake.clearRequests(), 1_000).unref();

process.stdout.write(`${JSON.stringify({ url: fake.url, httpsUrl: front?.url ?? null, token })}\n`);

for await (const line of { [Symbol.asyncIterator]: () => lines }) {
  const command = JSON.parse(line) as { scenario?: FakeScenario | null; statistics?: boolean };
  if (command.statistics) {
    process.stdout.write(`${JSON.stringify(front?.statistics() ?? noFront)}\n`);
    continue;
  }
  if (command.scenario) fake.setScenario(command.scenario);
  else fake.clearScenario();
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
}
// The benchmark closed our stdin (or died): stop.
await front?.close();
await fake.close();
process.exit(0);
