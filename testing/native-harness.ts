import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import type { FakeQwen, RequestLogEntry } from "./fake-qwen/index.js";
import { upstreamMessageText } from "./proxy-harness.js";

// Helpers for end-to-end tests of the native chat API (/api/chat, /api/chats, /api/status):
// plain-fetch calls, reading the fake's context-revealing replies, following upstream
// threads in the fake's request log, and running the proxy as a child process that can be
// killed with SIGKILL.

const REPOSITORY = fileURLToPath(new URL("..", import.meta.url));

/** The fake's answer: "Turn N of chat XXXXXXXX. You said: «…». Привет 👋 你好". */
export const FAKE_REPLY = /^Turn (\d+) of chat ([0-9a-f]{8})\. You said: «([\s\S]*)»\. Привет 👋 你好/;

export function parseReply(content: unknown): { turn: number; upstreamChat: string; said: string } {
  const match = FAKE_REPLY.exec(typeof content === "string" ? content : "");
  if (!match) throw new Error(`not a reply of the fake: ${String(content)}`);
  return { turn: Number(match[1]), upstreamChat: match[2]!, said: match[3]! };
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field in tests.
export type Json = any;

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: Json;
}

/** One HTTP call to the proxy with plain fetch; `body` is sent as JSON unless it is a string. */
export async function api(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers = { "content-type": "application/json", ...headers };
  }
  const response = await fetch(`${baseUrl}${path}`, init);
  const text = await response.text();
  let parsed: Json;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

/** `POST /api/chat`, expecting success; returns the JSON answer and the reply's text. */
export async function chatTurn(baseUrl: string, body: Record<string, unknown>) {
  const response = await api(baseUrl, "POST", "/api/chat", body);
  if (response.status !== 200) {
    throw new Error(`POST /api/chat answered ${response.status}: ${response.text}`);
  }
  const content = response.body.choices?.[0]?.message?.content as string;
  return {
    response,
    body: response.body,
    chatId: response.body.chatId as string,
    parentId: response.body.parentId as string | null,
    content,
  };
}

/** The stored chat as `GET /api/chats/:chatId` shows it. */
export async function getChat(baseUrl: string, chatId: string): Promise<Json> {
  const response = await api(baseUrl, "GET", `/api/chats/${chatId}`);
  if (response.status !== 200) throw new Error(`GET chat answered ${response.status}: ${response.text}`);
  return response.body;
}

/**
 * Asserts an error answer: the status, exactly the four keys of `{error:{message,type,param,code}}`,
 * and, when given, the field it names and its code.
 */
export function expectError(
  response: ApiResponse,
  status: number,
  expected: { param?: string | null; code?: string } = {},
): void {
  expect(response.status, response.text).toBe(status);
  expect(Object.keys(response.body ?? {})).toEqual(["error"]);
  const error = response.body.error;
  expect(Object.keys(error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(error.message).toEqual(expect.any(String));
  expect(error.message).not.toBe("");
  expect(error.type).toEqual(expect.any(String));
  expect(error.code).toEqual(expect.any(String));
  if (expected.param !== undefined) expect(error.param).toBe(expected.param);
  if (expected.code !== undefined) expect(error.code).toBe(expected.code);
}

export interface SseResult {
  status: number;
  headers: Headers;
  raw: string;
  /** Every `data:` payload in order, `[DONE]` kept as the string. */
  data: Array<Json | "[DONE]">;
}

/** Posts and reads a whole SSE answer with plain fetch. */
export async function postSse(
  baseUrl: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<SseResult> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const raw = await response.text();
  return { status: response.status, headers: response.headers, raw, data: sseData(raw) };
}

export function sseData(raw: string): Array<Json | "[DONE]"> {
  return raw
    .split("\n")
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice("data:".length).trim())
    .map((payload) => (payload === "[DONE]" ? "[DONE]" : JSON.parse(payload)));
}

/** The text of the `delta.content` of every chunk, joined. */
export function streamedText(data: Array<Json | "[DONE]">): string {
  return data
    .filter((item) => item !== "[DONE]")
    .map((item) => item.choices?.[0]?.delta?.content ?? "")
    .join("");
}

/**
 * A stream being read as it arrives: `text` grows with every content delta; `history` keeps
 * (time, text length) so a test can tell what had arrived at an earlier moment.
 */
export interface LiveStream {
  status: number;
  text: string;
  done: boolean;
  sawDone: boolean;
  history: Array<{ at: number; length: number }>;
  /** Settles when the stream ends, cleanly or not. */
  finished: Promise<void>;
}

export async function openLiveStream(baseUrl: string, path: string, body: unknown): Promise<LiveStream> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const live: LiveStream = {
    status: response.status,
    text: "",
    done: false,
    sawDone: false,
    history: [],
    finished: Promise.resolve(),
  };
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  live.finished = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const item of sseData(block)) {
            if (item === "[DONE]") live.sawDone = true;
            else live.text += item.choices?.[0]?.delta?.content ?? "";
          }
          live.history.push({ at: Date.now(), length: live.text.length });
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // The server went away mid-stream: that is what some tests do on purpose.
    } finally {
      live.done = true;
    }
  })();
  return live;
}

/** What had arrived at `time` (the length of the text then). */
export function receivedLengthAt(live: LiveStream, time: number): number {
  let length = 0;
  for (const entry of live.history) if (entry.at <= time) length = entry.length;
  return length;
}

// ---- the fake's request log -------------------------------------------------------------

export function completionRequests(fake: FakeQwen): RequestLogEntry[] {
  return fake.requests.filter(
    (entry) => entry.method === "POST" && entry.path === "/api/v2/chat/completions",
  );
}

export function lastCompletion(fake: FakeQwen): RequestLogEntry {
  const entry = completionRequests(fake).at(-1);
  if (!entry) throw new Error("no upstream completion request was made");
  return entry;
}

export function upstreamChatOf(entry: RequestLogEntry): string {
  return String((entry.body as { chat_id?: unknown } | undefined)?.chat_id ?? entry.query.chat_id ?? "");
}

export function upstreamParentOf(entry: RequestLogEntry): string | null {
  const parent = (entry.body as { parent_id?: unknown } | undefined)?.parent_id;
  return typeof parent === "string" ? parent : null;
}

/**
 * Everything the upstream thread of `entry` has seen: its own message, and when it continues
 * a thread (parent_id set) the messages sent earlier into the same upstream chat. A folded
 * history is inside the single message, so either way "context contains X" means that the
 * model could see X.
 */
export function upstreamContext(fake: FakeQwen, entry: RequestLogEntry): string {
  if (upstreamParentOf(entry) === null) return upstreamMessageText(entry);
  const requests = completionRequests(fake);
  const index = requests.indexOf(entry);
  const chat = upstreamChatOf(entry);
  return requests
    .slice(0, index + 1)
    .filter((item) => upstreamChatOf(item) === chat)
    .map((item) => upstreamMessageText(item))
    .join("\n\n");
}

/** Deletes an upstream chat directly at the fake, as if the user deleted it on chat.qwen.ai. */
export async function deleteUpstreamChat(fake: FakeQwen, token: string, upstreamChatId: string) {
  const response = await fetch(`${fake.url}/api/v2/chats/${upstreamChatId}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new Error(`fake refused to delete ${upstreamChatId}: ${response.status}`);
}

// ---- time, files, ports ---------------------------------------------------------------------

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` returns a truthy value (returned), or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Temporary directories, removed by `removeAll()` (call it in afterAll). */
export class TempDirs {
  readonly #dirs: string[] = [];

  make(prefix = "freeqwenapi-test-"): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.#dirs.push(dir);
    return dir;
  }

  removeAll(): void {
    for (const dir of this.#dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// ---- the proxy as a child process -------------------------------------------------------------

export interface ProxyProcess {
  child: ChildProcess;
  url: string;
  /** What the process wrote to stderr (for failure messages). */
  stderr(): string;
  /** SIGKILL, and waits until the process is gone. */
  kill(): Promise<void>;
}

/**
 * Runs `node --import tsx src/cli/index.ts serve` with the configuration in its environment,
 * and waits until it answers /health.
 */
export async function spawnProxy(options: {
  upstreamUrl: string;
  tokens: string[];
  dataDir: string;
  environment?: Record<string, string>;
}): Promise<ProxyProcess> {
  const port = await freePort();
  const environment: NodeJS.ProcessEnv = { ...process.env };
  // The developer's settings must not leak into the child.
  for (const key of Object.keys(environment)) {
    if (/^(QWEN_|API_KEYS|DATA_DIR|DATABASE_URL|PORT$|HOST$|LOG_LEVEL|ACCOUNT_|QUEUE_)/.test(key))
      delete environment[key];
  }
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/index.ts", "serve"], {
    cwd: REPOSITORY,
    env: {
      ...environment,
      PORT: String(port),
      HOST: "127.0.0.1",
      QWEN_BASE_URL: options.upstreamUrl,
      QWEN_TOKENS: options.tokens.join(","),
      DATA_DIR: options.dataDir,
      LOG_LEVEL: "silent",
      // Pacing is for the real site; tests run as fast as the fake allows.
      ACCOUNT_MIN_GAP_MS: "0",
      QWEN_TRANSPORT: "direct",
      PREWARM_CHATS: "false",
      ACCOUNT_GAP_JITTER_MS: "0",
      ...options.environment,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  const url = `http://127.0.0.1:${port}`;
  const proxy: ProxyProcess = {
    child,
    url,
    stderr: () => stderr,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the proxy exited before it answered /health: ${stderr}`);
    }
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok) return proxy;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await proxy.kill();
      throw new Error(`the proxy did not answer /health in time: ${stderr}`);
    }
    await sleep(50);
  }
}
