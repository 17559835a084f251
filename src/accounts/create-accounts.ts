import { BrowserManager } from "../browser/browser-manager.js";
import type { Config } from "../config/config.js";
import type { CookieJar } from "../qwen/cookie-jar.js";
import { AutoTransport } from "../transport/auto.js";
import { BrowserTransport } from "../transport/browser.js";
import { DirectTransport } from "../transport/direct.js";
import type { Transport } from "../transport/transport.js";
import { loadAccountRecords } from "./account-files.js";
import { type Account, AccountPool } from "./account-pool.js";
import { readAccountState, writeAccountState } from "./account-state-file.js";
import { TokenKeeper } from "./token-keeper.js";

export interface Accounts {
  pool: AccountPool;
  /** Undefined with QWEN_TRANSPORT=direct. */
  browsers: BrowserManager | undefined;
  keeper: TokenKeeper;
  close(): Promise<void>;
}

type Logger = { info(object: object, message: string): void; warn(object: object, message: string): void };

/**
 * The accounts with their transports: direct HTTP, the account's browser page, or direct
 * with a fallback to the page when the anti-bot wall answers (QWEN_TRANSPORT).
 */
export function createAccounts(config: Config, logger?: Logger): Accounts {
  const identity = {
    spaVersion: config.spaVersion,
    bxVersion: config.bxVersion,
    userAgent: config.userAgent,
  };
  const browsers =
    config.transport === "direct"
      ? undefined
      : new BrowserManager({
          dataDir: config.dataDir,
          baseUrl: config.qwenBaseUrl,
          chromiumPath: config.chromiumPath,
          userAgent: config.userAgent,
          poolSize: config.browserPoolSize,
        });
  const timeouts = { headersTimeoutMs: config.upstreamTimeoutMs, idleTimeoutMs: config.streamIdleTimeoutMs };
  // Connections follow the scheduler's limit (plus a few for chat creation, deletes, refresh),
  // so no request waits in a hidden queue the scheduler cannot see.
  const direct = (cookies: CookieJar) =>
    new DirectTransport({
      ...timeouts,
      connections: config.accountConcurrency + 4,
      onSetCookie: (lines) => cookies.applySetCookie(lines),
    });

  const browserTransport = async (accountId: string, token: () => string): Promise<Transport> => {
    const browser = await browsers!.forAccount(accountId, token);
    return new BrowserTransport({ pages: browser.pool, ...timeouts });
  };

  const transportFor = ({ id, token, cookies }: { id: string; token: () => string; cookies: CookieJar }) => {
    if (config.transport === "direct") return direct(cookies);
    if (config.transport === "browser") return new LazyTransport(() => browserTransport(id, token));
    return new AutoTransport({
      direct: direct(cookies),
      browser: () => browserTransport(id, token),
      stickyMs: config.browserStickyMs,
      onFallback: (reason) =>
        logger?.warn({ account: id, reason }, "anti-bot wall met; using the browser page"),
    });
  };

  let keeper: TokenKeeper | undefined;
  let savePending = false;
  const pool: AccountPool = new AccountPool({
    baseUrl: config.qwenBaseUrl,
    identity,
    ...timeouts,
    concurrency: config.accountConcurrency,
    minGapMs: config.accountMinGapMs,
    gapJitterMs: config.accountGapJitterMs,
    queueLimit: config.queueLimit,
    queueTimeoutMs: config.queueTimeoutMs,
    transportFor,
    savedState: readAccountState(config.dataDir),
    onStateChange: () => {
      // Saved at most once per tick, however many accounts changed.
      if (savePending) return;
      savePending = true;
      setImmediate(() => {
        savePending = false;
        writeAccountState(config.dataDir, pool.snapshot());
      });
    },
    onUnauthorized: (account: Account) => void keeper?.refresh(account),
    viaBrowser: (account: Account) =>
      account.transport.kind === "browser" ||
      (account.transport instanceof AutoTransport && account.transport.onBrowserPath),
  });
  // Accounts saved by `login` / `accounts add` first, then those given in the environment.
  for (const record of loadAccountRecords(config.dataDir)) {
    if (!record.disabled) pool.addToken(record.token, record.source, record.label, record.cookies);
  }
  for (const token of config.qwenTokens) pool.addToken(token, "env");

  keeper = new TokenKeeper({
    pool,
    browsers,
    dataDir: config.dataDir,
    baseUrl: config.qwenBaseUrl,
    logger,
  });
  return {
    pool,
    browsers,
    keeper,
    close: async () => {
      keeper?.stop();
      writeAccountState(config.dataDir, pool.snapshot());
      await pool.close();
      await browsers?.close();
    },
  };
}

/** A transport made on first use (a browser is started only when a request needs it). */
class LazyTransport implements Transport {
  readonly kind = "browser" as const;
  readonly #make: () => Promise<Transport>;
  #transport: Promise<Transport> | undefined;

  constructor(make: () => Promise<Transport>) {
    this.#make = make;
  }

  async request(request: Parameters<Transport["request"]>[0]) {
    this.#transport ??= this.#make().catch((error: unknown) => {
      this.#transport = undefined;
      throw error;
    });
    return (await this.#transport).request(request);
  }

  async close(): Promise<void> {
    await (await this.#transport?.catch(() => undefined))?.close();
  }
}
