import { createHash } from "node:crypto";
import { type QwenError, ServiceError } from "../errors.js";
import type { BrowserIdentity } from "../qwen/browser-identity.js";
import { QwenClient } from "../qwen/client.js";
import { CookieJar } from "../qwen/cookie-jar.js";
import { decodeJwtPayload, isTokenExpired, tokenExpiry } from "../qwen/jwt.js";
import { DirectTransport } from "../transport/direct.js";
import type { Transport } from "../transport/transport.js";
import type { SavedAccountState } from "./account-state-file.js";

export type AccountState = "ok" | "rate_limited" | "expired" | "needs_verification" | "cooling_down";
export type AccountSource = "env" | "cli" | "browser";

export interface Account {
  readonly id: string;
  readonly label: string;
  readonly source: AccountSource;
  readonly client: QwenClient;
  readonly transport: Transport;
  token: string;
  /** Cookies sent besides the token: pasted ones and those upstream set. */
  readonly cookies: CookieJar;
  state: AccountState;
  /** Until when the account is parked (rate limit, anti-bot cool-down). */
  unavailableUntil?: number;
  lastUsedAt: number;
  /** The earliest moment the next request may start on it (pacing). */
  nextStartAt: number;
  inFlight: number;
  requestsToday: number;
  /** The local day `requestsToday` counts. */
  day: string;
  consecutiveFailures: number;
  lastError?: string;
}

/** What /api/status shows of an account: never the token. */
export interface AccountStatus {
  id: string;
  label: string;
  source: AccountSource;
  state: AccountState;
  unavailableUntil: string | null;
  tokenExpiresAt: string | null;
  inFlight: number;
  requestsToday: number;
  lastError: string | null;
}

export interface AccountPoolOptions {
  baseUrl: string;
  identity?: Partial<BrowserIdentity>;
  headersTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Requests one account runs at once (bursts on one account trip the anti-bot wall). */
  concurrency?: number;
  /** Least time between the starts of two requests on one account… */
  minGapMs?: number;
  /** …plus up to this much random jitter, so the rhythm does not look machine-made. */
  gapJitterMs?: number;
  /** Requests that may wait for an account at once; more get a 503 at once. */
  queueLimit?: number;
  /** How long a request waits for an account before a 503. */
  queueTimeoutMs?: number;
  /** Makes an account's transport (direct by default; auto or browser when configured). */
  transportFor?: (account: { id: string; token: () => string; cookies: CookieJar }) => Transport;
  /** Saved state to apply to accounts as they are added (rate limits survive restarts). */
  savedState?: Record<string, SavedAccountState>;
  /** Called after a change worth saving. */
  onStateChange?: () => void;
  /** Upstream refused an account's token: a chance to renew it (see TokenKeeper). */
  onUnauthorized?: (account: Account) => void;
  /** The failure came through a browser page: the wall there needs a person, not a pause. */
  viaBrowser?: (account: Account) => boolean;
  now?: () => number;
  random?: () => number;
}

/**
 * A stable id for the account behind a token: the user id inside the JWT, so chats stay bound
 * to the right account across restarts and token renewals; a hash when the token is opaque.
 */
export function accountIdFor(token: string): string {
  const userId = decodeJwtPayload(token)?.id;
  if (typeof userId === "string" && /^[\w-]{1,64}$/.test(userId)) return `acct_${userId}`;
  return `acct_${createHash("sha256").update(token).digest("hex").slice(0, 16)}`;
}

/** How long an account rests after the anti-bot wall. */
const WAF_COOLDOWN_MS = 5 * 60_000;
/** Back-off after repeated failures: 30 s doubling up to 10 min. */
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_MAX_MS = 10 * 60_000;
const FAILURES_BEFORE_BACKOFF = 3;

interface Waiter {
  prefer: string | undefined;
  exclude: ReadonlySet<string> | undefined;
  resolve: (account: Account) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
  onAbort?: () => void;
  signal?: AbortSignal;
}

export interface AcquireOptions {
  /** The account a chat is bound to: taken when it is free now. */
  prefer?: string;
  exclude?: ReadonlySet<string>;
  signal?: AbortSignal;
}

/**
 * The accounts this proxy serves from, and who runs the next request: the least recently
 * used account that is healthy, under its concurrency limit and past its pacing gap. When
 * every account is busy, requests wait in a bounded queue, first come first served; past
 * the queue's timeout they get a 503 with Retry-After. No request is dropped silently.
 */
export class AccountPool {
  readonly #accounts: Account[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #options: AccountPoolOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #concurrency: number;
  readonly #minGapMs: number;
  readonly #gapJitterMs: number;
  #tick: NodeJS.Timeout | undefined;
  /** Starts so far; orders accounts by last use when several started in the same millisecond. */
  #starts = 0;
  readonly #lastStart = new WeakMap<Account, number>();

  constructor(options: AccountPoolOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#concurrency = Math.max(1, options.concurrency ?? 1);
    this.#minGapMs = Math.max(0, options.minGapMs ?? 0);
    this.#gapJitterMs = Math.max(0, options.gapJitterMs ?? 0);
  }

  get size(): number {
    return this.#accounts.length;
  }

  /** Requests waiting for an account right now. */
  get waiting(): number {
    return this.#waiters.length;
  }

  addToken(
    token: string,
    source: AccountSource = "env",
    label?: string,
    cookies: Record<string, string> = {},
  ): Account {
    const id = accountIdFor(token);
    const existing = this.get(id);
    if (existing) {
      this.updateToken(id, token);
      for (const [name, value] of Object.entries(cookies)) existing.cookies.set(name, value);
      return existing;
    }
    const tokenOf = () => account.token;
    const jar = new CookieJar(cookies);
    const transport =
      this.#options.transportFor?.({ id, token: tokenOf, cookies: jar }) ??
      new DirectTransport({
        headersTimeoutMs: this.#options.headersTimeoutMs,
        idleTimeoutMs: this.#options.idleTimeoutMs,
        onSetCookie: (lines) => jar.applySetCookie(lines),
      });
    const saved = this.#options.savedState?.[id];
    const now = this.#now();
    const account: Account = {
      id,
      label: label ?? id,
      source,
      transport,
      token,
      cookies: jar,
      state: isTokenExpired(token, now) ? "expired" : "ok",
      lastUsedAt: 0,
      nextStartAt: 0,
      inFlight: 0,
      requestsToday: saved?.day === localDay(now) ? saved.requestsToday : 0,
      day: localDay(now),
      consecutiveFailures: 0,
      client: new QwenClient({
        baseUrl: this.#options.baseUrl,
        transport,
        // Read per request, so a refreshed token is used at once.
        credentials: () => ({ token: account.token, cookies: account.cookies.toRecord() }),
        identity: this.#options.identity,
        headersTimeoutMs: this.#options.headersTimeoutMs,
        idleTimeoutMs: this.#options.idleTimeoutMs,
      }),
    };
    if (account.state === "expired") account.lastError = "The token's exp is in the past";
    else if (saved?.unavailableUntil && saved.unavailableUntil > now && saved.state !== "ok") {
      account.state = saved.state;
      account.unavailableUntil = saved.unavailableUntil;
      account.lastError = saved.lastError;
    }
    this.#accounts.push(account);
    this.#serveWaiters();
    return account;
  }

  /** A fresh token for an account (refresh, re-login): it serves again. */
  updateToken(accountId: string, token: string): void {
    const account = this.get(accountId);
    if (!account) return;
    account.token = token;
    if (account.state === "expired" && !isTokenExpired(token, this.#now())) {
      account.state = "ok";
      account.lastError = undefined;
    }
    this.#changed();
    this.#serveWaiters();
  }

  remove(accountId: string): boolean {
    const index = this.#accounts.findIndex((account) => account.id === accountId);
    if (index < 0) return false;
    const [account] = this.#accounts.splice(index, 1);
    void account?.transport.close();
    this.#serveWaiters();
    return true;
  }

  accounts(): readonly Account[] {
    return this.#accounts;
  }

  /** Any account that can serve, without taking it (for light calls like the model list). */
  any(): Account | undefined {
    return this.#accounts.find((account) => this.canServe(account));
  }

  get(accountId: string): Account | undefined {
    return this.#accounts.find((account) => account.id === accountId);
  }

  /** True when the account is healthy (it may still be busy). */
  canServe(account: Account): boolean {
    this.#wake(account);
    return account.state === "ok";
  }

  /**
   * Takes an account for one request, waiting in the queue when all are busy. Rejects with
   * ServiceError `no_account_available` when none can serve at all, when the queue is full,
   * or after the queue's timeout.
   */
  acquire(options: AcquireOptions = {}): Promise<Account> {
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    const taken = this.#take(options.prefer, options.exclude);
    if (taken === "none") return Promise.reject(this.#noAccountError(options.exclude));
    if (taken !== "wait") return Promise.resolve(taken);
    const limit = this.#options.queueLimit ?? 500;
    if (this.#waiters.length >= limit) {
      return Promise.reject(
        new ServiceError("no_account_available", "Too many requests are waiting for a Qwen account", {
          retryAfterMs: 5_000,
        }),
      );
    }
    return new Promise<Account>((resolve, reject) => {
      const waiter: Waiter = {
        prefer: options.prefer,
        exclude: options.exclude,
        resolve,
        reject,
        signal: options.signal,
        timer: setTimeout(() => {
          this.#dropWaiter(waiter);
          reject(
            new ServiceError("no_account_available", "Every Qwen account stayed busy; try again shortly", {
              retryAfterMs: Math.max(1_000, this.#minGapMs + this.#gapJitterMs),
            }),
          );
        }, this.#options.queueTimeoutMs ?? 60_000),
      };
      if (options.signal) {
        waiter.onAbort = () => {
          this.#dropWaiter(waiter);
          reject(options.signal?.reason);
        };
        options.signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      this.#scheduleTick();
    });
  }

  release(account: Account): void {
    account.inFlight = Math.max(0, account.inFlight - 1);
    this.#serveWaiters();
  }

  /** A request on the account succeeded: failures in a row start over. */
  reportSuccess(account: Account): void {
    account.consecutiveFailures = 0;
  }

  /** Records a failure, parking the account as the failure demands. */
  reportFailure(account: Account, error: QwenError): void {
    account.lastError = error.message;
    const now = this.#now();
    switch (error.code) {
      case "rate_limited":
        this.#park(account, "rate_limited", now + (error.retryAfterMs ?? 24 * 3_600_000));
        break;
      case "quota_exceeded":
        this.#park(account, "rate_limited", now + 3_600_000);
        break;
      case "unauthorized":
        account.state = "expired";
        this.#options.onUnauthorized?.(account);
        break;
      case "waf_challenge":
        if (this.#options.viaBrowser?.(account)) {
          account.state = "needs_verification";
          account.lastError = `The site asks this account for a human verification: run \`npm start -- login --account ${account.label}\` and solve it in the window`;
        } else {
          this.#park(account, "cooling_down", now + WAF_COOLDOWN_MS);
        }
        break;
      case "moderation":
        // The content was refused, not the account: counting it would let one user's refused
        // prompts put every account into back-off for everyone.
        break;
      default:
        if (error.retryable && ++account.consecutiveFailures >= FAILURES_BEFORE_BACKOFF) {
          const steps = account.consecutiveFailures - FAILURES_BEFORE_BACKOFF;
          this.#park(account, "cooling_down", now + Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** steps));
        }
        break;
    }
    this.#changed();
  }

  /** The account's page met a verification it cannot pass alone: a person must log in. */
  markNeedsVerification(account: Account, message: string): void {
    account.state = "needs_verification";
    account.lastError = message;
    this.#changed();
  }

  /** The soonest time a parked account serves again, for Retry-After. */
  nextAvailableAt(): number | undefined {
    const times = this.#accounts
      .map((account) => account.unavailableUntil)
      .filter((time): time is number => time !== undefined);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  status(): AccountStatus[] {
    return this.#accounts.map((account) => {
      this.#wake(account);
      const expiry = tokenExpiry(account.token);
      return {
        id: account.id,
        label: account.label,
        source: account.source,
        state: account.state,
        unavailableUntil: account.unavailableUntil ? new Date(account.unavailableUntil).toISOString() : null,
        tokenExpiresAt: expiry ? expiry.toISOString() : null,
        inFlight: account.inFlight,
        requestsToday: account.requestsToday,
        lastError: account.lastError ?? null,
      };
    });
  }

  /** What is worth keeping across a restart. */
  snapshot(): Record<string, SavedAccountState> {
    const saved: Record<string, SavedAccountState> = {};
    for (const account of this.#accounts) {
      saved[account.id] = {
        state: account.state,
        unavailableUntil: account.unavailableUntil,
        lastError: account.lastError,
        requestsToday: account.requestsToday,
        day: account.day,
      };
    }
    return saved;
  }

  async close(): Promise<void> {
    if (this.#tick) clearTimeout(this.#tick);
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new ServiceError("no_account_available", "The server is shutting down"));
    }
    await Promise.all(this.#accounts.map((account) => account.transport.close()));
  }

  #take(prefer: string | undefined, exclude: ReadonlySet<string> | undefined): Account | "wait" | "none" {
    const now = this.#now();
    const healthy = this.#accounts.filter((account) => !exclude?.has(account.id) && this.canServe(account));
    if (healthy.length === 0) return "none";
    const free = healthy.filter(
      (account) => account.inFlight < this.#concurrency && now >= account.nextStartAt,
    );
    if (free.length === 0) return "wait";
    const chosen =
      free.find((account) => account.id === prefer) ??
      free.reduce((best, account) => (this.#startIndex(account) < this.#startIndex(best) ? account : best));
    this.#start(chosen, now);
    return chosen;
  }

  #start(account: Account, now: number): void {
    account.inFlight++;
    const day = localDay(now);
    if (day !== account.day) {
      account.day = day;
      account.requestsToday = 0;
    }
    account.requestsToday++;
    account.lastUsedAt = now;
    this.#lastStart.set(account, ++this.#starts);
    account.nextStartAt = now + this.#minGapMs + Math.floor(this.#random() * this.#gapJitterMs);
  }

  #startIndex(account: Account): number {
    return this.#lastStart.get(account) ?? 0;
  }

  /** Hands free accounts to waiters in arrival order; fails those no account can ever serve. */
  #serveWaiters(): void {
    for (const waiter of [...this.#waiters]) {
      const taken = this.#take(waiter.prefer, waiter.exclude);
      if (taken === "wait") continue;
      this.#dropWaiter(waiter);
      if (taken === "none") waiter.reject(this.#noAccountError(waiter.exclude));
      else waiter.resolve(taken);
    }
    this.#scheduleTick();
  }

  #dropWaiter(waiter: Waiter): void {
    const index = this.#waiters.indexOf(waiter);
    if (index >= 0) this.#waiters.splice(index, 1);
    clearTimeout(waiter.timer);
    if (waiter.onAbort) waiter.signal?.removeEventListener("abort", waiter.onAbort);
  }

  /** One timer for the next moment something may change for a waiter (a gap ends, a park ends). */
  #scheduleTick(): void {
    if (this.#tick) clearTimeout(this.#tick);
    this.#tick = undefined;
    if (this.#waiters.length === 0) return;
    const now = this.#now();
    const moments = this.#accounts.flatMap((account) => {
      if (account.unavailableUntil !== undefined && account.unavailableUntil > now)
        return [account.unavailableUntil];
      if (account.state === "ok" && account.inFlight < this.#concurrency && account.nextStartAt > now) {
        return [account.nextStartAt];
      }
      return [];
    });
    if (moments.length === 0) return;
    this.#tick = setTimeout(() => this.#serveWaiters(), Math.max(1, Math.min(...moments) - now));
    this.#tick.unref?.();
  }

  #noAccountError(exclude: ReadonlySet<string> | undefined): ServiceError {
    if (this.#accounts.length === 0) {
      return new ServiceError(
        "no_account_available",
        "No Qwen account is configured: run `npm start -- login`, or set QWEN_TOKENS",
      );
    }
    const next = this.nextAvailableAt();
    const tried = exclude && exclude.size > 0 ? " (the others failed this request)" : "";
    return new ServiceError(
      "no_account_available",
      `No Qwen account can serve right now: they are rate-limited, expired or need a login${tried}`,
      next ? { retryAfterMs: Math.max(1_000, next - this.#now()) } : {},
    );
  }

  #park(account: Account, state: AccountState, until: number): void {
    account.state = state;
    account.unavailableUntil = until;
    this.#scheduleTick();
  }

  /** A parked account whose time is up serves again. */
  #wake(account: Account): void {
    if (account.unavailableUntil !== undefined && account.unavailableUntil <= this.#now()) {
      account.unavailableUntil = undefined;
      if (account.state === "rate_limited" || account.state === "cooling_down") account.state = "ok";
      this.#changed();
    }
  }

  #changed(): void {
    this.#options.onStateChange?.();
  }
}

function localDay(ms: number): string {
  const date = new Date(ms);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}
