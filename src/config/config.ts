import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";

/**
 * One schema for every setting. Sources, later ones winning: defaults ← environment ←
 * command-line flags. The result is frozen: nothing changes configuration at run time.
 */

const REASONING_FORMATS = ["reasoning_content", "reasoning", "both", "think-tags", "off"] as const;
export type ReasoningFormat = (typeof REASONING_FORMATS)[number];

const TRANSPORTS = ["direct", "browser", "auto"] as const;

const csv = z
  .union([z.array(z.string()), z.string()])
  .transform((value) =>
    (typeof value === "string" ? value.split(/[,\n]/) : value)
      .map((item) => item.trim())
      .filter((item) => item !== ""),
  );

const boolean = z.union([z.boolean(), z.string()]).transform((value) => {
  if (typeof value === "boolean") return value;
  return ["1", "true", "yes", "on"].includes(value.trim().toLowerCase());
});

const ConfigSchema = z.object({
  port: z.coerce.number().int().min(0).max(65_535).default(3264),
  host: z.string().min(1).default("127.0.0.1"),
  /** Upstream; the fake upstream's URL in tests and in the demo. */
  qwenBaseUrl: z.url().default("https://chat.qwen.ai"),
  /** Accounts given as bare tokens. */
  qwenTokens: csv.default([]),
  /** Proxy API keys; none means no key is asked for (loopback only, unless insecure). */
  apiKeys: csv.default([]),
  apiKeysFile: z.string().optional(),
  insecureNoAuth: boolean.default(false),
  /**
   * Web pages allowed to call the API from a browser (CORS): `loopback` (pages served from
   * localhost, any port), `*`, or exact origins such as `https://chat.example.org`. Empty: none.
   */
  corsOrigins: csv.default(["loopback"]),
  dataDir: z.string().default("./data"),
  transport: z.enum(TRANSPORTS).default("auto"),
  /** The Chromium to drive; found in the usual places when not set. */
  chromiumPath: z.string().optional(),
  /** Pages per account browser that carry in-page requests. */
  browserPoolSize: z.coerce.number().int().positive().default(2),
  /** How long an account stays on the browser path after the anti-bot wall, ms. */
  browserStickyMs: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(10 * 60_000),
  spaVersion: z.string().optional(),
  bxVersion: z.string().optional(),
  userAgent: z.string().optional(),
  defaultModel: z.string().default("qwen3.7-plus"),
  reasoningFormat: z.enum(REASONING_FORMATS).default("reasoning_content"),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Largest request body, bytes. */
  bodyLimit: z.coerce
    .number()
    .int()
    .positive()
    .default(20 * 1024 * 1024),
  /** How long to wait for upstream to start answering, ms. */
  upstreamTimeoutMs: z.coerce.number().int().positive().default(60_000),
  /** How long an upstream stream may stay silent, ms (thinking models pause). */
  streamIdleTimeoutMs: z.coerce.number().int().positive().default(120_000),
  /** Interval of `: keep-alive` comments while upstream is silent, ms. */
  keepAliveMs: z.coerce.number().int().positive().default(15_000),
  modelsTtlMs: z.coerce
    .number()
    .int()
    .positive()
    .default(10 * 60_000),
  /** Requests one account runs at once. */
  accountConcurrency: z.coerce.number().int().positive().default(1),
  /** Least time between two request starts on one account, ms, plus random jitter. */
  accountMinGapMs: z.coerce.number().int().nonnegative().default(1000),
  accountGapJitterMs: z.coerce.number().int().nonnegative().default(500),
  /** How often saved accounts are re-read, so CLI changes reach a running server, ms. */
  accountsReloadMs: z.coerce.number().int().positive().default(5_000),
  /** Requests that may wait for a free account, and how long each may wait, ms. */
  queueLimit: z.coerce.number().int().positive().default(500),
  queueTimeoutMs: z.coerce.number().int().positive().default(60_000),
  /** Keep an upstream chat ready per account and model, saving a round trip per new conversation. */
  prewarmChats: boolean.default(true),
  /** Fetch attachment URLs that point into private networks (off: SSRF protection). */
  allowPrivateUrls: boolean.default(false),
  /** How long downloading an attachment may take, ms. */
  downloadTimeoutMs: z.coerce.number().int().positive().default(20_000),
  /** Stored files no chat refers to are deleted this long after they were stored, ms; 0 keeps them. */
  unusedFilesTtlMs: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(24 * 3_600_000),
  /** How long shutdown waits for running streams, ms. */
  shutdownGraceMs: z.coerce.number().int().nonnegative().default(10_000),
});

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Environment variable for each setting. */
const ENVIRONMENT: Record<keyof ConfigInput, string> = {
  port: "PORT",
  host: "HOST",
  qwenBaseUrl: "QWEN_BASE_URL",
  qwenTokens: "QWEN_TOKENS",
  apiKeys: "API_KEYS",
  apiKeysFile: "API_KEYS_FILE",
  insecureNoAuth: "INSECURE_NO_AUTH",
  corsOrigins: "CORS_ORIGINS",
  dataDir: "DATA_DIR",
  transport: "QWEN_TRANSPORT",
  chromiumPath: "CHROMIUM_PATH",
  browserPoolSize: "BROWSER_POOL_SIZE",
  browserStickyMs: "BROWSER_STICKY_MS",
  spaVersion: "QWEN_SPA_VERSION",
  bxVersion: "QWEN_BX_VERSION",
  userAgent: "QWEN_USER_AGENT",
  defaultModel: "DEFAULT_MODEL",
  reasoningFormat: "REASONING_FORMAT",
  logLevel: "LOG_LEVEL",
  bodyLimit: "BODY_LIMIT",
  upstreamTimeoutMs: "UPSTREAM_TIMEOUT_MS",
  streamIdleTimeoutMs: "STREAM_IDLE_TIMEOUT_MS",
  keepAliveMs: "KEEPALIVE_MS",
  modelsTtlMs: "MODELS_TTL_MS",
  shutdownGraceMs: "SHUTDOWN_GRACE_MS",
  allowPrivateUrls: "ALLOW_PRIVATE_URLS",
  prewarmChats: "PREWARM_CHATS",
  downloadTimeoutMs: "DOWNLOAD_TIMEOUT_MS",
  unusedFilesTtlMs: "UNUSED_FILES_TTL_MS",
  accountConcurrency: "ACCOUNT_CONCURRENCY",
  accountMinGapMs: "ACCOUNT_MIN_GAP_MS",
  accountGapJitterMs: "ACCOUNT_GAP_JITTER_MS",
  accountsReloadMs: "ACCOUNTS_RELOAD_MS",
  queueLimit: "QUEUE_LIMIT",
  queueTimeoutMs: "QUEUE_TIMEOUT_MS",
};

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Variables whose empty value means "none" rather than "the default". */
const EMPTY_MEANS_NONE = new Set(["CORS_ORIGINS"]);

export function loadConfig(
  overrides: Partial<ConfigInput> = {},
  environment: NodeJS.ProcessEnv = process.env,
): Config {
  const input: Record<string, unknown> = {};
  for (const [key, variable] of Object.entries(ENVIRONMENT)) {
    const value = environment[variable];
    // Empty means "unset", except where an empty list is a choice of its own.
    if (value !== undefined && (value !== "" || EMPTY_MEANS_NONE.has(variable))) input[key] = value;
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) input[key] = value;
  }
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path[0] as keyof ConfigInput | undefined;
      const name = key ? `${ENVIRONMENT[key] ?? key}` : "config";
      return `${name}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  const config = { ...parsed.data, dataDir: resolve(parsed.data.dataDir) };
  if (config.apiKeysFile) config.apiKeys = [...config.apiKeys, ...readKeysFile(config.apiKeysFile)];
  return Object.freeze(config);
}

/** One key per line; blank lines and `#` comments are skipped. */
function readKeysFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`API_KEYS_FILE ${path} cannot be read: ${(error as Error).message}`);
  }
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

export function isLoopbackHost(host: string): boolean {
  const normalised = host.toLowerCase().replace(/^\[|\]$/g, "");
  return normalised === "localhost" || normalised === "::1" || normalised.startsWith("127.");
}
