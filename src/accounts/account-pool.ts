import { createHash } from "node:crypto";
import type { QwenError } from "../errors.js";
import type { BrowserIdentity } from "../qwen/browser-identity.js";
import { QwenClient } from "../qwen/client.js";
import { decodeJwtPayload, isTokenExpired, tokenExpiry } from "../qwen/jwt.js";
import { DirectTransport } from "../transport/direct.js";
import type { Transport } from "../transport/transport.js";

export type AccountState = "ok" | "rate_limited" | "expired" | "needs_verification" | "cooling_down";
export type AccountSource = "env" | "cli" | "browser";

export interface Account {
  readonly id: string;
  readonly label: string;
  readonly source: AccountSource;
  readonly client: QwenClient;
  readonly transport: Transport;
  token: string;
  state: AccountState;
  /** Until when the account is parked (rate limit, anti-bot cool-down). */
  unavailableUntil?: number;
  lastUsedAt: number;
  inFlight: number;
  requestsToday: number;
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
  now?: () => number;
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

/** How long an account rests after the anti-bot wall or a transient failure. */
const WAF_COOLDOWN_MS = 5 * 60_000;

/**
 * The accounts this proxy serves from, and which one takes the next request: the least
 * recently used among those that can serve now, preferring the account a chat is bound to.
 */
export class AccountPool {
  readonly #accounts: Account[] = [];
  readonly #options: AccountPoolOptions;
  readonly #now: () => number;

  constructor(options: AccountPoolOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#accounts.length;
  }

  addToken(token: string, source: AccountSource = "env", label?: string): Account {
    const transport = new DirectTransport({
      headersTimeoutMs: this.#options.headersTimeoutMs,
      idleTimeoutMs: this.#options.idleTimeoutMs,
    });
    const id = accountIdFor(token);
    const existing = this.get(id);
    if (existing) {
      existing.token = token;
      return existing;
    }
    const account: Account = {
      id,
      label: label ?? id,
      source,
      transport,
      token,
      state: isTokenExpired(token) ? "expired" : "ok",
      lastUsedAt: 0,
      inFlight: 0,
      requestsToday: 0,
      client: new QwenClient({
        baseUrl: this.#options.baseUrl,
        transport,
        // Read per request, so a refreshed token is used at once.
        credentials: () => ({ token: account.token }),
        identity: this.#options.identity,
        headersTimeoutMs: this.#options.headersTimeoutMs,
        idleTimeoutMs: this.#options.idleTimeoutMs,
      }),
    };
    if (account.state === "expired") account.lastError = "The token's exp is in the past";
    this.#accounts.push(account);
    return account;
  }

  /** Any account that can serve, without taking it (for light calls like the model list). */
  any(): Account | undefined {
    return this.#accounts.find((account) => this.canServe(account));
  }

  get(accountId: string): Account | undefined {
    return this.#accounts.find((account) => account.id === accountId);
  }

  /** True when the account can take a request now. */
  canServe(account: Account): boolean {
    this.#wake(account);
    return account.state === "ok";
  }

  /**
   * Takes an account for one request: `prefer` when it can serve, else the least recently
   * used healthy one not in `exclude`. Undefined when none can serve.
   */
  acquire(options: { prefer?: string; exclude?: ReadonlySet<string> } = {}): Account | undefined {
    const preferred = options.prefer ? this.get(options.prefer) : undefined;
    let chosen =
      preferred && !options.exclude?.has(preferred.id) && this.canServe(preferred) ? preferred : undefined;
    if (!chosen) {
      const candidates = this.#accounts.filter(
        (account) => !options.exclude?.has(account.id) && this.canServe(account),
      );
      chosen = candidates.sort((a, b) => a.inFlight - b.inFlight || a.lastUsedAt - b.lastUsedAt)[0];
    }
    if (!chosen) return undefined;
    chosen.inFlight++;
    chosen.requestsToday++;
    chosen.lastUsedAt = this.#now();
    return chosen;
  }

  release(account: Account): void {
    account.inFlight = Math.max(0, account.inFlight - 1);
  }

  /** Records a failure that belongs to the account, parking it as the failure demands. */
  reportFailure(account: Account, error: QwenError): void {
    account.lastError = error.message;
    const now = this.#now();
    switch (error.code) {
      case "rate_limited":
        account.state = "rate_limited";
        account.unavailableUntil = now + (error.retryAfterMs ?? 24 * 3_600_000);
        break;
      case "unauthorized":
        account.state = "expired";
        break;
      case "waf_challenge":
        account.state = "cooling_down";
        account.unavailableUntil = now + WAF_COOLDOWN_MS;
        break;
      case "quota_exceeded":
        account.state = "rate_limited";
        account.unavailableUntil = now + 3_600_000;
        break;
      default:
        break;
    }
  }

  /** The soonest time any account becomes available again, for Retry-After. */
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

  async close(): Promise<void> {
    await Promise.all(this.#accounts.map((account) => account.transport.close()));
  }

  /** A parked account whose time is up serves again. */
  #wake(account: Account): void {
    if (account.unavailableUntil !== undefined && account.unavailableUntil <= this.#now()) {
      account.unavailableUntil = undefined;
      if (account.state === "rate_limited" || account.state === "cooling_down") account.state = "ok";
    }
  }
}
