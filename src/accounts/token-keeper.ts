import type { BrowserManager } from "../browser/browser-manager.js";
import { isTokenExpired, tokenExpiry } from "../qwen/jwt.js";
import { decryptSecret, loadAccountRecords, saveAccountRecord } from "./account-files.js";
import type { Account, AccountPool } from "./account-pool.js";
import { signInWithPassword } from "./password-sign-in.js";

export interface TokenKeeperOptions {
  pool: AccountPool;
  /** Absent with QWEN_TRANSPORT=direct: no browser, so only a stored password can help. */
  browsers?: BrowserManager;
  dataDir: string;
  baseUrl: string;
  /** Refresh a token this long before it expires. */
  refreshBeforeMs?: number;
  intervalMs?: number;
  logger?: { info(object: object, message: string): void; warn(object: object, message: string): void };
}

/**
 * Keeps sessions alive: before a token expires (and when upstream refused it) the fresh token
 * is taken from the account's live page, where the web app renews it; if the page is logged
 * out, the stored password signs in again, when the user allowed one to be kept; otherwise the
 * account is marked expired with what to do.
 */
export class TokenKeeper {
  readonly #options: TokenKeeperOptions;
  readonly #running = new Map<string, Promise<boolean>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: TokenKeeperOptions) {
    this.#options = options;
  }

  start(): void {
    this.#timer = setInterval(() => void this.checkAll(), this.#options.intervalMs ?? 10 * 60_000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Refreshes every account that needs it: expiring soon, or refused by upstream. */
  async checkAll(): Promise<void> {
    const soon = Date.now() + (this.#options.refreshBeforeMs ?? 24 * 3_600_000);
    const due = this.#options.pool.accounts().filter((account) => {
      const expiry = tokenExpiry(account.token);
      return account.state === "expired" || (expiry !== undefined && expiry.getTime() <= soon);
    });
    await Promise.all(due.map((account) => this.refresh(account)));
  }

  /** One refresh at a time per account; true when the account has a working token again. */
  refresh(account: Account): Promise<boolean> {
    let running = this.#running.get(account.id);
    if (!running) {
      running = this.#refresh(account).finally(() => this.#running.delete(account.id));
      this.#running.set(account.id, running);
    }
    return running;
  }

  async #refresh(account: Account): Promise<boolean> {
    const { logger } = this.#options;
    if (await this.#stillAccepted(account)) {
      logger?.info({ account: account.id }, "the session token is accepted again");
      return true;
    }
    const fromPage = await this.#tokenFromPage(account);
    if (fromPage) {
      this.#adopt(account, fromPage);
      logger?.info({ account: account.id }, "took the renewed session token from the account's page");
      return true;
    }
    const record = loadAccountRecords(this.#options.dataDir).find((item) => item.id === account.id);
    if (record?.encryptedPassword && record.email) {
      try {
        const result = await signInWithPassword({
          baseUrl: this.#options.baseUrl,
          dataDir: this.#options.dataDir,
          email: record.email,
          password: decryptSecret(this.#options.dataDir, record.encryptedPassword),
        });
        if (result.accountId === account.id) {
          // The old browser holds the old profile; the next request starts a fresh one.
          await this.#options.browsers?.close(account.id);
          this.#adopt(account, result.token);
          logger?.info({ account: account.id }, "signed in again with the stored password");
          return true;
        }
      } catch (error) {
        logger?.warn({ account: account.id, err: error }, "signing in again with the stored password failed");
      }
    }
    if (isTokenExpired(account.token) || account.state === "expired") {
      account.state = "expired";
      account.lastError = `The session ended: run \`npm start -- login --account ${account.label}\` to sign in again`;
    }
    return false;
  }

  /**
   * A token refused once may still be good: upstream has refused valid tokens from some
   * regions and at some moments (§8, pitfall 25). One cheap `GET /api/v1/auths/` tells, before a
   * browser is started or a password used.
   */
  async #stillAccepted(account: Account): Promise<boolean> {
    if (account.state !== "expired" || isTokenExpired(account.token)) return false;
    try {
      const user = await account.client.getCurrentUser();
      if (user.role !== undefined && user.role !== "user" && user.role !== "admin") return false;
    } catch {
      return false;
    }
    this.#options.pool.updateToken(account.id, account.token);
    return true;
  }

  async #tokenFromPage(account: Account): Promise<string | undefined> {
    const browsers = this.#options.browsers;
    if (!browsers) return undefined;
    try {
      const browser = await browsers.forAccount(account.id, () => account.token);
      if ((await browser.pageState()) !== "logged-in") return undefined;
      const token = await browser.readToken();
      return token && token !== account.token && !isTokenExpired(token) ? token : undefined;
    } catch (error) {
      this.#options.logger?.warn({ account: account.id, err: error }, "could not read the account's page");
      return undefined;
    }
  }

  #adopt(account: Account, token: string): void {
    this.#options.pool.updateToken(account.id, token);
    const record = loadAccountRecords(this.#options.dataDir).find((item) => item.id === account.id);
    if (record)
      saveAccountRecord(this.#options.dataDir, { ...record, token, updatedAt: new Date().toISOString() });
  }
}
