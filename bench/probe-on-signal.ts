// Preloaded into the proxy child (`node --expose-gc --import tsx --import ./bench/probe-on-signal.ts`)
// and nothing else: the proxy itself stays untouched. On SIGUSR2 it reports the CPU time used
// so far, then collects garbage and reports memory, so that "memory per open stream" counts
// what the streams retain rather than whatever garbage the last collection left behind.

const collectGarbage = (globalThis as { gc?: () => void }).gc;

process.on("SIGUSR2", () => {
  const cpu = process.cpuUsage();
  collectGarbage?.();
  const memory = process.memoryUsage();
  const probe = {
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    externalBytes: memory.external,
    collected: collectGarbage !== undefined,
  };
  process.stderr.write(`bench-probe ${JSON.stringify(probe)}\n`);
});
