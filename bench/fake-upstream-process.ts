import { setMaxListeners } from "node:events";
import { createInterface } from "node:readline";
import { type FakeScenario, startFakeQwen } from "../testing/fake-qwen/index.js";

// The fake chat.qwen.ai as a child process of the benchmark, so that neither the load
// generator nor the proxy shares an event loop with it. `npm run fake-qwen` cannot serve
// here: it fixes a 15 ms delay between events and has no way to switch scenarios.
//
// stdout: one JSON line `{"url", "tokens"}` once listening.
// stdin:  one JSON line per command, answered by one JSON line:
//         `{"scenario": <FakeScenario> | null}` sets or clears the scenario → `{"ok": true}`;
//         `{"probe": true}` → `{"cpuMs": <CPU time used so far>}`.

const accountCount = Number.parseInt(process.env.BENCH_FAKE_ACCOUNTS ?? "1", 10);

// The fake's pauses each add an abort listener to one shared signal, so a thousand slowed
// streams held open (which is the point here) would print a listener-leak warning.
setMaxListeners(0);

const fake = await startFakeQwen({ port: 0, chunkDelayMs: 0 });
const tokens = Array.from({ length: accountCount }, (_, index) => {
  const account = fake.addAccount({ email: `bench-${index}@example.com`, password: "bench" });
  return account.token;
});

// The fake logs every request with headers and body; a long run would measure that log.
setInterval(() => fake.clearRequests(), 1_000).unref();

const commands = createInterface({ input: process.stdin });
commands.on("line", (line) => {
  const command = JSON.parse(line) as { scenario?: FakeScenario | null; probe?: boolean };
  if (command.probe) {
    const cpu = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
    return;
  }
  if (command.scenario) fake.setScenario(command.scenario);
  else fake.clearScenario();
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
});
// The benchmark closing our stdin (or dying) is the signal to stop.
commands.on("close", () => {
  void fake.close().then(() => process.exit(0));
});

process.stdout.write(`${JSON.stringify({ url: fake.url, tokens })}\n`);
