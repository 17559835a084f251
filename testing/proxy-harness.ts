import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { type ConfigInput, loadConfig } from "../src/config/config.js";
import { type RunningServer, startServer } from "../src/server/create-server.js";
import { type FakeAccount, type FakeQwen, type FakeQwenOptions, startFakeQwen } from "./fake-qwen/index.js";
import type { RequestLogEntry } from "./fake-qwen/types.js";

// End-to-end tests run the real proxy on 127.0.0.1 (port 0) against the fake chat.qwen.ai,
// and talk to it over real HTTP, the way a user's client would.

export type HarnessAccount = FakeAccount & { token: string };

export interface ProxyOptions {
  /** Upstream tokens the proxy serves from; default: every account of the harness. */
  tokens?: string[];
  /** Config overrides on top of the test defaults (silent log, loopback, port 0). */
  config?: Partial<ConfigInput>;
}

export interface RunningProxy {
  server: RunningServer;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** An OpenAI SDK client pointed at this proxy, without retries. */
  client(options?: ConstructorParameters<typeof OpenAI>[0]): OpenAI;
  close(): Promise<void>;
}

export interface Harness extends RunningProxy {
  fake: FakeQwen;
  accounts: HarnessAccount[];
  /** A further proxy on the same fake (other config, other accounts); closed with the harness. */
  startProxy(options?: ProxyOptions): Promise<RunningProxy>;
  /** The upstream completion requests the fake received, oldest first. */
  completionRequests(): RequestLogEntry[];
}

export interface HarnessOptions extends ProxyOptions {
  /** How many upstream accounts to create (default 1). */
  accounts?: number;
  fake?: FakeQwenOptions;
}

export async function startProxy(fake: FakeQwen, options: ProxyOptions = {}): Promise<RunningProxy> {
  const config = loadConfig(
    {
      host: "127.0.0.1",
      port: 0,
      qwenBaseUrl: fake.url,
      qwenTokens: options.tokens ?? [],
      logLevel: "silent",
      shutdownGraceMs: 200,
      // Pacing is for the real site; tests run as fast as the fake allows.
      accountMinGapMs: 0,
      accountGapJitterMs: 0,
      // Surface tests talk plain HTTP; the browser path has tests of its own.
      transport: "direct",
      // Upstream request sequences stay as the tests expect; pre-warming has tests of its own.
      prewarmChats: false,
      // Each proxy keeps its chats in its own throw-away directory.
      dataDir: mkdtempSync(join(tmpdir(), "freeqwenapi-test-")),
      ...options.config,
    },
    // The developer's environment must not leak into tests.
    {},
  );
  const server = await startServer(config);
  return {
    server,
    url: server.url,
    client: (clientOptions) =>
      new OpenAI({
        baseURL: `${server.url}/v1`,
        apiKey: "x",
        maxRetries: 0,
        timeout: 15_000,
        ...clientOptions,
      }),
    close: async () => {
      await server.close();
      if (!options.config?.dataDir) rmSync(server.context.config.dataDir, { recursive: true, force: true });
    },
  };
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const fake = await startFakeQwen({ chunkDelayMs: 0, ...options.fake });
  const accounts = Array.from({ length: options.accounts ?? 1 }, () => fake.addAccount());
  const extras: RunningProxy[] = [];
  let main: RunningProxy;
  try {
    main = await startProxy(fake, {
      tokens: options.tokens ?? accounts.map((account) => account.token),
      config: options.config,
    });
  } catch (error) {
    await fake.close();
    throw error;
  }
  return {
    ...main,
    fake,
    accounts,
    startProxy: async (proxyOptions = {}) => {
      const proxy = await startProxy(fake, proxyOptions);
      extras.push(proxy);
      return proxy;
    },
    completionRequests: () => fake.requests.filter((entry) => entry.path === "/api/v2/chat/completions"),
    close: async () => {
      await Promise.allSettled([main.close(), ...extras.map((proxy) => proxy.close())]);
      await fake.close();
    },
  };
}

/** The text of the single user message of an upstream completion request. */
export function upstreamMessageText(entry: RequestLogEntry): string {
  const content = upstreamMessages(entry)[0]?.content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter((part): part is { type: "text"; text: string } => part?.type === "text")
    .map((part) => part.text)
    .join("\n");
}

export interface UpstreamMessage {
  role?: string;
  content?: unknown;
  parent_id?: string | null;
  parentId?: string | null;
  feature_config?: Record<string, unknown>;
  [key: string]: unknown;
}

export function upstreamMessages(entry: RequestLogEntry): UpstreamMessage[] {
  const body = entry.body as { messages?: UpstreamMessage[] } | undefined;
  return body?.messages ?? [];
}

export function upstreamBody(entry: RequestLogEntry): Record<string, unknown> {
  return (entry.body as Record<string, unknown> | undefined) ?? {};
}

export interface RawSse {
  status: number;
  headers: Headers;
  raw: string;
  /** Every `data:` payload in order, `[DONE]` kept as the string. */
  data: Array<Record<string, unknown> | "[DONE]">;
}

/** Reads an SSE response completely with plain fetch, keeping the raw text. */
export async function fetchSse(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer x", ...headers },
    body: JSON.stringify(body),
  });
  const raw = await response.text();
  const data = raw
    .split("\n\n")
    .flatMap((block) => block.split("\n"))
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice("data:".length).trim())
    .map((payload) =>
      payload === "[DONE]" ? ("[DONE]" as const) : (JSON.parse(payload) as Record<string, unknown>),
    );
  return { status: response.status, headers: response.headers, raw, data } satisfies RawSse;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type ApiError = InstanceType<typeof OpenAI.APIError>;

/** The SDK error a call ends with; fails the test when the call succeeds or throws something else. */
export async function apiFailure(promise: Promise<unknown>): Promise<ApiError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) throw new Error(`expected an error, got ${JSON.stringify(outcome.value)}`);
  if (!(outcome.error instanceof OpenAI.APIError)) throw outcome.error;
  return outcome.error;
}
