import { AccountBrowser } from "./account-browser.js";

export interface BrowserManagerOptions {
  dataDir: string;
  baseUrl: string;
  chromiumPath?: string;
  userAgent?: string;
  poolSize?: number;
}

/**
 * The accounts' browsers, each started on first need (a Chromium costs memory) and signed in
 * with the account's token when it has no saved session of its own.
 */
export class BrowserManager {
  readonly #options: BrowserManagerOptions;
  readonly #browsers = new Map<string, AccountBrowser>();

  constructor(options: BrowserManagerOptions) {
    this.#options = options;
  }

  /** The account's browser, started and signed in. */
  async forAccount(accountId: string, token: () => string): Promise<AccountBrowser> {
    let browser = this.#browsers.get(accountId);
    if (!browser) {
      browser = new AccountBrowser({
        accountId,
        dataDir: this.#options.dataDir,
        baseUrl: this.#options.baseUrl,
        headless: true,
        chromiumPath: this.#options.chromiumPath,
        userAgent: this.#options.userAgent,
        poolSize: this.#options.poolSize,
      });
      this.#browsers.set(accountId, browser);
      await browser.injectToken(token());
    }
    await browser.start();
    return browser;
  }

  /** The account's browser if it was started. */
  get(accountId: string): AccountBrowser | undefined {
    return this.#browsers.get(accountId);
  }

  async close(accountId?: string): Promise<void> {
    const targets = accountId ? [accountId] : [...this.#browsers.keys()];
    await Promise.all(
      targets.map(async (id) => {
        const browser = this.#browsers.get(id);
        this.#browsers.delete(id);
        await browser?.saveState().catch(() => {});
        await browser?.close();
      }),
    );
  }
}
