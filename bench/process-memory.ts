import { readdir, readFile } from "node:fs/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// Memory of the two sides of the browser path: Chromium's processes, read from /proc, and
// this Node process after a full collection.

export interface ProcessGroupMemory {
  /** Proportional set size: shared pages split between the processes sharing them. */
  pssBytes: number;
  /** Resident set size summed: shared pages counted once per process (an overcount). */
  rssBytes: number;
  processes: number;
}

interface ProcessEntry {
  pid: number;
  parent: number;
  argv: string[];
}

async function processTable(): Promise<ProcessEntry[]> {
  const entries: ProcessEntry[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const [stat, cmdline] = await Promise.all([
        readFile(`/proc/${name}/stat`, "utf8"),
        readFile(`/proc/${name}/cmdline`, "utf8"),
      ]);
      // The command name in parentheses may hold spaces; the parent pid follows the state.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      entries.push({ pid: Number(name), parent: Number(fields[1]), argv: cmdline.split("\0") });
    } catch {
      // Gone between the listing and the read.
    }
  }
  return entries;
}

/**
 * Every process of the Chromium running on `profileDirectory`: the browser process, found by
 * `--user-data-dir` on its command line, and all its descendants (zygotes, renderers, the
 * network service and other utilities), whether or not they repeat the flag.
 */
export async function chromiumMemory(profileDirectory: string): Promise<ProcessGroupMemory> {
  const table = await processTable();
  const flag = `--user-data-dir=${profileDirectory}`;
  const members = new Set(table.filter((entry) => entry.argv.includes(flag)).map((entry) => entry.pid));
  if (members.size === 0) throw new Error(`No Chromium process runs on ${profileDirectory}`);
  for (let grown = true; grown; ) {
    grown = false;
    for (const entry of table) {
      if (!members.has(entry.pid) && members.has(entry.parent)) {
        members.add(entry.pid);
        grown = true;
      }
    }
  }
  let pssKb = 0;
  let rssKb = 0;
  let processes = 0;
  for (const pid of members) {
    try {
      const rollup = await readFile(`/proc/${pid}/smaps_rollup`, "utf8");
      pssKb += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
      rssKb += Number(/^Rss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
      processes++;
    } catch {
      // Exited meanwhile.
    }
  }
  return { pssBytes: pssKb * 1024, rssBytes: rssKb * 1024, processes };
}

export interface NodeMemory {
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  collected: boolean;
}

/**
 * `gc` without `--expose-gc` on the command line (the benchmark runs as `npx tsx …`): the flag
 * set at run time exposes it in contexts created afterwards.
 */
const collectGarbage: (() => void) | undefined = (() => {
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
})();

/** This process's memory after a full collection, so that it counts what is retained. */
export function nodeMemory(): NodeMemory {
  collectGarbage?.();
  const usage = process.memoryUsage();
  return {
    rssBytes: usage.rss,
    heapUsedBytes: usage.heapUsed,
    externalBytes: usage.external,
    collected: collectGarbage !== undefined,
  };
}
