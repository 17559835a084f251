import type { IncomingMessage, ServerResponse } from "node:http";
import type { BrowserSurface } from "./browser-surface.js";
import type { FakeState } from "./fake-state.js";
import type { ScenarioStore } from "./scenarios.js";
import type { RandomSource } from "./seeded-random.js";

// What every route handler receives. The body is read completely before dispatch so that
// the request log holds it before any answer is written.

export interface ServerSettings {
  chunkDelayMs: number;
  minSpaVersion: string;
  seed: number;
  /** Status polls until a video task reports success (at least 1). */
  taskPollsToSuccess: number;
}

export interface Authentication {
  token: string | null;
  accountId: string | null;
  failure: "missing" | "malformed" | "unknown" | "revoked" | "expired" | null;
}

export interface RequestContext {
  request: IncomingMessage;
  response: ServerResponse;
  method: string;
  path: string;
  query: Record<string, string>;
  rawQuery: string;
  rawBody: Buffer;
  auth: Authentication;
  state: FakeState;
  scenarios: ScenarioStore;
  browserSurface: BrowserSurface;
  settings: ServerSettings;
  baseUrl: string;
  /** Aborted when the fake closes, so long streams and sleeps end promptly. */
  signal: AbortSignal;
  /** A fresh deterministic generator for one response. */
  createRandom(): RandomSource;
}

const maximumBodyBytes = 64 * 1024 * 1024;

export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    total += buffer.length;
    if (total > maximumBodyBytes) throw new Error("request body too large");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Header values exactly as sent; repeated headers are joined the way HTTP allows. */
export function collectHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  const raw = request.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = (raw[index] as string).toLowerCase();
    const value = raw[index + 1] as string;
    const previous = headers[name];
    headers[name] = previous === undefined ? value : `${previous}${name === "cookie" ? "; " : ", "}${value}`;
  }
  return headers;
}

/** Parses a query string without treating "+" as a space (OSS signing depends on that). */
export function parseQuery(rawQuery: string): Record<string, string> {
  const query: Record<string, string> = {};
  if (rawQuery === "") return query;
  for (const pair of rawQuery.split("&")) {
    if (pair === "") continue;
    const separator = pair.indexOf("=");
    const name = safeDecode(separator === -1 ? pair : pair.slice(0, separator));
    query[name] = separator === -1 ? "" : safeDecode(pair.slice(separator + 1));
  }
  return query;
}

export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function bodyForLog(rawBody: Buffer): unknown {
  if (rawBody.length === 0) return undefined;
  const text = rawBody.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function parseJsonObject(rawBody: Buffer): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(rawBody.toString("utf8"));
    return isRecord(value) ? value : null;
  } catch {
    return null;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(", ") : value;
}

export function readCookie(request: IncomingMessage, name: string): string | undefined {
  const header = headerValue(request, "cookie");
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const separator = part.indexOf("=");
    if (separator !== -1 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}

export function sleep(milliseconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, milliseconds);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
