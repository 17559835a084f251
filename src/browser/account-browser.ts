import { randomBytes } from "node:crypto";
import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type BrowserContext, chromium, type Disposable, type Page } from "playwright-core";
import { DEFAULT_IDENTITY } from "../qwen/browser-identity.js";
import { tokenExpiry } from "../qwen/jwt.js";
import { browserUserAgent } from "./browser-user-agent.js";
import { BrowserUnavailableError, findChromium } from "./find-chromium.js";
import { PagePool } from "./page-pool.js";
import { clearForeignProfileLock } from "./profile-lock.js";
import { readStorageState, restoreStorageState, writeStorageState } from "./storage-state.js";

// The project compiles without the DOM library; these run in the page, where they exist.
declare const localStorage: {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
};
declare const location: { origin: string };

/**
 * Flags for running as root, in containers and sandboxes (no GPU, small /dev/shm), without
 * background chatter, and without the automation switch that makes `navigator.webdriver` true.
 */
export const CHROMIUM_ARGS: readonly string[] = Object.freeze([
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--disable-blink-features=AutomationControlled",
]);

export type PageState = "logged-in" | "logged-out" | "verification";

export interface AccountBrowserOptions {
  accountId: string;
  /** The data directory; the profile goes to `<dataDir>/accounts/<accountId>/profile`. */
  dataDir: string;
  /** Upstream, e.g. `https://chat.qwen.ai`. */
  baseUrl: string;
  headless: boolean;
  /** Else `CHROMIUM_PATH`, else the usual install locations. */
  chromiumPath?: string;
  /**
   * Default: an ordinary Chrome of the binary's own version on this system, so that the user
   * agent agrees with the client hints Chromium sends by itself.
   */
  userAgent?: string;
  /** Pages requests run in, default 2. */
  poolSize?: number;
  /** More Chromium flags after the defaults, e.g. `--proxy-server=…` for this account. */
  extraArgs?: string[];
  /** How long `pageState` waits for the web app to show its login form or settle, ms. */
  settleTimeoutMs?: number;
}

const VIEWPORT = { width: 1280, height: 800 };
const LAUNCH_TIMEOUT_MS = 30_000;
/** A browser that died sooner than this after launch is relaunched on demand, not at once. */
const QUICK_DEATH_MS = 10_000;
const DEFAULT_SETTLE_TIMEOUT_MS = 5_000;
/** localStorage key remembering which `injectToken` call the origin has seen (a nonce). */
const INJECTED_MARKER_KEY = "fqa_token_injection";

/**
 * One account's Chromium: a persistent profile (cookies and localStorage survive restarts),
 * a pool of pages on the upstream origin for in-page requests, and relaunch after a crash.
 * A caller waiting for a page while the browser relaunches gets one from the new browser.
 */
export class AccountBrowser {
  readonly accountId: string;
  readonly baseUrl: string;
  readonly profileDirectory: string;
  readonly storageStatePath: string;
  /** The pages in-page requests run in. */
  readonly pool: PagePool;
  readonly #options: AccountBrowserOptions;
  readonly #accountDirectory: string;
  #context: BrowserContext | undefined;
  #launching: Promise<BrowserContext> | undefined;
  #closed = false;
  #launches = 0;
  #injection: TokenInjection | undefined;
  #tokenScript: Disposable | undefined;

  constructor(options: AccountBrowserOptions) {
    // It names a directory: nothing that could climb out of the data directory.
    if (!/^(?!\.{1,2}$)[\w.-]{1,128}$/.test(options.accountId)) {
      throw new Error(
        `Unusable account id for a browser profile directory: ${JSON.stringify(options.accountId)}`,
      );
    }
    this.#options = options;
    this.accountId = options.accountId;
    this.baseUrl = new URL(options.baseUrl).origin;
    this.#accountDirectory = join(options.dataDir, "accounts", options.accountId);
    this.profileDirectory = join(this.#accountDirectory, "profile");
    this.storageStatePath = join(this.#accountDirectory, "storage-state.json");
    this.pool = new PagePool({
      baseUrl: this.baseUrl,
      size: options.poolSize,
      openPage: () => this.#openPage(),
    });
  }

  /** Browser launches so far, relaunches included. */
  get launches(): number {
    return this.#launches;
  }

  /** Launches the browser (restoring the saved state) unless it runs already. */
  async start(): Promise<void> {
    await this.context();
  }

  /** The live context, launching or relaunching as needed. For login flows and checks. */
  context(): Promise<BrowserContext> {
    if (this.#closed) return Promise.reject(new BrowserUnavailableError("This account's browser is closed"));
    if (this.#context) return Promise.resolve(this.#context);
    this.#launching ??= this.#launch().finally(() => {
      this.#launching = undefined;
    });
    return this.#launching;
  }

  /**
   * Signs the browser in with a bare token, as if the web app had stored it: the `token`
   * cookie, and localStorage `token` on the upstream origin before any of its pages runs a
   * script. Works before or after `start()`. Each call overwrites what the browser holds;
   * later page loads and relaunches only put it back if it went missing, so a token the web
   * app renewed by itself is kept (read it with `readToken`).
   */
  async injectToken(token: string): Promise<void> {
    const injection: TokenInjection = { token, marker: randomBytes(8).toString("hex"), cookiePending: true };
    this.#injection = injection;
    const context = this.#context ?? (await this.#launching?.catch(() => undefined));
    if (!context) return; // Applied at launch.
    await this.#applyToken(context);
    // Open pages loaded before this call; localStorage is shared by the whole origin.
    if (this.pool.size > 0) {
      await this.pool.withPage((page) =>
        page.evaluate(writeTokenScript, { ...this.#tokenScriptArgument(injection), onlyOnce: false }),
      );
    }
  }

  /** The token the web app holds now (it may have renewed it), from a live page. */
  async readToken(): Promise<string | undefined> {
    const token = await this.pool.withPage((page) => page.evaluate(() => localStorage.getItem("token")));
    return token ?? undefined;
  }

  /**
   * Loads `/` in a short-lived page of its own and reads what the site shows: a verification
   * (captcha) interstitial, the login form (`.login-container`, protocol notes §2.2) or the app.
   * Not in a pooled page: reloading one would cut the requests running in it.
   */
  async pageState(): Promise<PageState> {
    const context = await this.context();
    const page = await context.newPage();
    try {
      await page.goto(`${this.baseUrl}/`, { waitUntil: "domcontentloaded" });
      if ((await page.title()).includes("Verification")) return "verification";
      // The web app decides on the client, after the HTML has loaded, so give it a moment.
      const settleTimeoutMs = this.#options.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
      await Promise.race([
        page.waitForSelector(".login-container", { state: "attached", timeout: settleTimeoutMs }),
        page.waitForLoadState("networkidle", { timeout: settleTimeoutMs }),
      ]).catch(() => {});
      if ((await page.title()).includes("Verification")) return "verification";
      return (await page.locator(".login-container").count()) > 0 ? "logged-out" : "logged-in";
    } finally {
      await page.close().catch(() => {});
    }
  }

  /**
   * Writes cookies and localStorage to `storage-state.json` (0600): the portable copy of the
   * login, for another machine or a lost profile. `start()` restores from it.
   */
  async saveState(): Promise<void> {
    const context = await this.context();
    await this.#prepareDirectories();
    await writeStorageState(this.storageStatePath, await context.storageState());
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.pool.close();
    const context = this.#context ?? (await this.#launching?.catch(() => undefined));
    this.#context = undefined;
    await context?.close().catch(() => {});
  }

  async #launch(): Promise<BrowserContext> {
    const executablePath = findChromium(this.#options.chromiumPath);
    await this.#prepareDirectories();
    await clearForeignProfileLock(this.profileDirectory);
    let context: BrowserContext;
    try {
      context = await chromium.launchPersistentContext(this.profileDirectory, {
        headless: this.#options.headless,
        executablePath,
        args: [...CHROMIUM_ARGS, ...(this.#options.extraArgs ?? [])],
        userAgent: await browserUserAgent(
          executablePath,
          this.#options.userAgent,
          DEFAULT_IDENTITY.userAgent,
        ),
        viewport: VIEWPORT,
        timeout: LAUNCH_TIMEOUT_MS,
      });
    } catch (error) {
      throw new BrowserUnavailableError(
        `Chromium (${executablePath}) did not start for account ${this.accountId}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const launchedAt = Date.now();
    try {
      const saved = await readStorageState(this.storageStatePath);
      if (saved) await restoreStorageState(context, saved);
      await this.#applyToken(context);
    } catch (error) {
      await context.close().catch(() => {});
      throw error;
    }
    if (this.#closed) {
      await context.close().catch(() => {});
      throw new BrowserUnavailableError("This account's browser is closed");
    }
    context.on("close", () => this.#onContextClosed(context, launchedAt));
    this.#context = context;
    this.#launches++;
    return context;
  }

  /** The profile holds the session: only its owner may read it (the data directory is the user's). */
  async #prepareDirectories(): Promise<void> {
    await mkdir(this.profileDirectory, { recursive: true, mode: 0o700 });
    // mkdir's mode only applies to directories it creates, and the umask may narrow it anyway.
    await chmod(join(this.#accountDirectory, ".."), 0o700);
    await chmod(this.#accountDirectory, 0o700);
  }

  /** The browser died or its context was closed under us: relaunch, unless we are closing. */
  #onContextClosed(context: BrowserContext, launchedAt: number): void {
    if (this.#context !== context) return;
    this.#context = undefined;
    this.#tokenScript = undefined;
    if (this.#closed) return;
    // A browser that keeps dying at once would spin; then the next caller relaunches it.
    if (Date.now() - launchedAt >= QUICK_DEATH_MS) this.context().catch(() => {});
  }

  async #openPage(): Promise<Page> {
    const context = await this.context();
    try {
      return await context.newPage();
    } catch (error) {
      // Died before its close event reached us: drop it and take the relaunched one.
      if (this.#closed || context.browser()?.isConnected() !== false) throw error;
      if (this.#context === context) this.#context = undefined;
      return (await this.context()).newPage();
    }
  }

  /** Installs the injected token in a context: at once after `injectToken`, else if missing. */
  async #applyToken(context: BrowserContext): Promise<void> {
    const injection = this.#injection;
    if (!injection) return;
    const { token } = injection;
    const previous = this.#tokenScript;
    this.#tokenScript = await context.addInitScript(writeTokenScript, this.#tokenScriptArgument(injection));
    await previous?.dispose().catch(() => {});
    // A crash can lose a cookie set moments before; a relaunch puts a missing one back.
    const hasCookie = (await context.cookies(this.baseUrl)).some((cookie) => cookie.name === "token");
    if (injection.cookiePending || !hasCookie) {
      injection.cookiePending = false;
      const expiry = tokenExpiry(token);
      await context.addCookies([
        {
          name: "token",
          value: token,
          url: this.baseUrl,
          sameSite: "Lax",
          // Persistent like the web app's own cookie, so a restart keeps it.
          ...(expiry ? { expires: Math.floor(expiry.getTime() / 1000) } : {}),
        },
      ]);
    }
  }

  #tokenScriptArgument(injection: TokenInjection): TokenScriptArgument {
    return {
      origin: this.baseUrl,
      token: injection.token,
      markerKey: INJECTED_MARKER_KEY,
      marker: injection.marker,
      onlyOnce: true,
    };
  }
}

interface TokenInjection {
  token: string;
  /** A nonce per `injectToken` call: the origin's localStorage notes which call it has seen. */
  marker: string;
  /** The call's cookie has not been written yet. */
  cookiePending: boolean;
}

interface TokenScriptArgument {
  origin: string;
  token: string;
  markerKey: string;
  marker: string;
  /**
   * As an init script it runs on every page load; writing each time would undo a token the
   * web app renewed since. So it writes once per `injectToken` call, or when the token is gone.
   */
  onlyOnce: boolean;
}

/** Runs in the page: stores the token where the web app looks for it. */
function writeTokenScript(argument: TokenScriptArgument): void {
  if (location.origin !== argument.origin) return;
  try {
    const written = localStorage.getItem(argument.markerKey) === argument.marker;
    if (argument.onlyOnce && written && localStorage.getItem("token") !== null) return;
    localStorage.setItem("token", argument.token);
    localStorage.setItem(argument.markerKey, argument.marker);
  } catch {
    // Storage can be off for this document (sandboxed frame); nothing to sign in then.
  }
}
