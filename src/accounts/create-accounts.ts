import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BrowserManager } from "../browser/browser-manager.js";
import type { Config } from "../config/config.js";
import type { CookieJar } from "../qwen/cookie-jar.js";
import { tokenExpiry } from "../qwen/jwt.js";
import { AutoTransport } from "../transport/auto.js";
import { BrowserTransport } from "../transport/browser.js";
import { DirectTransport } from "../transport/direct.js";
import type { Transport } from "../transport/transport.js";
import { type AccountRecord, accountDirectory, loadAccountRecords } from "./account-files.js";
import { type Account, AccountPool, accountIdFor } from "./account-pool.js";
import { readAccountState, writeAccountState } from "./account-state-file.js";
import { TokenKeeper } from "./token-keeper.js";

export interface Accounts {
  pool: AccountPool;
  /** Undefined with QWEN_TRANSPORT=direct. */
  browsers: BrowserManager | undefined;
  keeper: TokenKeeper;
  /**
   * Starts following the saved accounts, so `accounts add|remove|enable|disable` and `login`
   * take effect in a running server within `intervalMs`.
   */
  watchRecords(intervalMs?: number): void;
  /** Applies the saved accounts now: new and enabled ones join, removed and disabled ones leave. */
  syncRecords(): void;
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
  // Also where an account taken out of the pool leaves its state, so coming back (enabled
  // again) does not forget a rate limit it is serving.
  const savedState = readAccountState(config.dataDir);
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
    savedState,
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
  const fromRecords = new Set<string>();
  // Accounts given in the environment stay whatever the files say.
  const environmentIds = new Set(config.qwenTokens.map((token) => accountIdFor(token)));
  let started = false;
  const syncRecords = () => {
    const wanted = new Map<string, AccountRecord>();
    for (const record of loadAccountRecords(config.dataDir))
      if (!record.disabled) wanted.set(record.id, record);
    for (const record of wanted.values()) {
      const existing = pool.get(record.id);
      if (!existing) {
        pool.addToken(record.token, record.source, record.label, record.cookies);
        if (started) logger?.info({ account: record.id }, "account added");
      } else if (existing.token !== record.token && expiresLater(record.token, existing.token)) {
        // A newer session saved by `login` or `accounts add`; an older one in the file (the
        // keeper renewed the live token since) is not taken back.
        pool.updateToken(record.id, record.token);
      }
      fromRecords.add(record.id);
    }
    for (const id of [...fromRecords]) {
      if (wanted.has(id)) continue;
      // An account leaves only when it was disabled or its directory removed, never because
      // its file could not be read just now.
      if (!isDisabledOrGone(config.dataDir, id)) continue;
      fromRecords.delete(id);
      if (environmentIds.has(id)) continue;
      const state = pool.snapshot()[id];
      if (state) savedState[id] = state;
      pool.remove(id);
      void browsers?.close(id);
      logger?.info({ account: id }, "account removed or disabled");
    }
  };
  syncRecords();
  started = true;
  for (const token of config.qwenTokens) pool.addToken(token, "env");
  let watcher: NodeJS.Timeout | undefined;

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
    syncRecords,
    watchRecords: (intervalMs = 5_000) => {
      watcher ??= setInterval(() => {
        try {
          syncRecords();
        } catch (error) {
          logger?.warn({ err: error }, "could not read the saved accounts");
        }
      }, intervalMs);
      watcher.unref();
    },
    close: async () => {
      if (watcher) clearInterval(watcher);
      keeper?.stop();
      writeAccountState(config.dataDir, pool.snapshot());
      await pool.close();
      await browsers?.close();
    },
  };
}

function expiresLater(candidate: string, current: string): boolean {
  const next = tokenExpiry(candidate)?.getTime() ?? 0;
  const now = tokenExpiry(current)?.getTime() ?? 0;
  return next >= now;
}

function isDisabledOrGone(dataDir: string, accountId: string): boolean {
  const file = join(accountDirectory(dataDir, accountId), "account.json");
  if (!existsSync(file)) return true;
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { disabled?: boolean }).disabled === true;
  } catch {
    return false;
  }
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
