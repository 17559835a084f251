import { cpus, loadavg } from "node:os";
import { round } from "./statistics.js";

// What every benchmark report shares: fixed-width tables, number formats, the machine it ran on.

export type Cell = string | number;

/** Columns before `leftColumns` are text and align left; the rest are numbers and align right. */
export function table(header: Cell[], rows: Cell[][], leftColumns = 1): string {
  const all = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, column) => Math.max(...all.map((row) => row[column]?.length ?? 0)));
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        column < leftColumns ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join("  ");
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [line(all[0]!), rule, ...all.slice(1).map(line)].map((text) => `  ${text}`).join("\n");
}

export const ms = (value: number, digits = 2) =>
  Number.isFinite(value) ? `${value.toFixed(digits)} ms` : "—";
export const signedMs = (value: number, digits = 2) =>
  Number.isFinite(value) ? `${value >= 0 ? "+" : ""}${ms(value, digits)}` : "—";
export const verdict = (pass: boolean) => (pass ? "PASS" : "FAIL");

export interface Environment {
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  /** One-minute load average before and after the run: anything else running skews it. */
  loadAverage: { before: number; after: number };
}

/** The machine a run happened on; `loadBefore` is the load average taken when it began. */
export function environment(loadBefore: number): Environment {
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    loadAverage: { before: round(loadBefore), after: round(loadavg()[0] ?? 0) },
  };
}
