import type { Page } from "playwright-core";

// The project compiles without the DOM library; this runs in the page, where it exists.
declare const document: { readyState: string };

export interface PagePoolOptions {
  /** Upstream; every pooled page sits on `<baseUrl>/`, so in-page fetches are same-origin. */
  baseUrl: string;
  /** A blank page in the live browser context, waiting out a relaunch if one is under way. */
  openPage: () => Promise<Page>;
  /** Pages kept, default 2. One page carries many concurrent requests. */
  size?: number;
  /** How long the pre-use health check may take, ms. */
  checkTimeoutMs?: number;
  /** How long loading `/` into a new page may take, ms. */
  navigationTimeoutMs?: number;
}

/** A page taken from the pool for one call. */
export interface PageLease {
  readonly page: Page;
  /**
   * Keeps the page counted busy after the callback returns, for a response streaming on past
   * it. Call the returned function (once or more) when the stream is over.
   */
  extend(): () => void;
}

interface PooledPage {
  /** Settles once the page has loaded `/`. */
  ready: Promise<Page>;
  page: Page | undefined;
  /** Calls and streams running on the page. */
  busy: number;
  /** Crashed, closed, navigated away or failed a check: never handed out again. */
  broken: boolean;
  /** Replaced on purpose (see `recycle`): closed once its last stream ends. */
  retired: boolean;
}

const DEFAULT_SIZE = 2;
const DEFAULT_CHECK_TIMEOUT_MS = 3_000;
const DEFAULT_NAVIGATION_TIMEOUT_MS = 30_000;

/** Playwright's words for "the page, its frame or its browser is gone". */
const PAGE_GONE =
  /target page, context or browser has been closed|target closed|page closed|page crashed|execution context was destroyed|frame (was|has been) detached|browser has disconnected/i;

/**
 * A few long-lived tabs on the upstream origin that in-page requests run in. Never the
 * context's first tab (puppeteer-era "detached frame" errors came from reusing it, protocol
 * notes §8 pitfall 1), never a tab per request (each costs tens of megabytes): the least busy
 * healthy page takes the next call, many calls share one page.
 */
export class PagePool {
  readonly #openPage: () => Promise<Page>;
  readonly #homeUrl: string;
  readonly #origin: string;
  readonly #capacity: number;
  readonly #checkTimeoutMs: number;
  readonly #navigationTimeoutMs: number;
  #entries: PooledPage[] = [];
  #pagesCreated = 0;
  #closed = false;

  constructor(options: PagePoolOptions) {
    const base = new URL(options.baseUrl);
    this.#origin = base.origin;
    this.#homeUrl = `${base.origin}/`;
    this.#openPage = options.openPage;
    this.#capacity = Math.max(1, options.size ?? DEFAULT_SIZE);
    this.#checkTimeoutMs = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
    this.#navigationTimeoutMs = options.navigationTimeoutMs ?? DEFAULT_NAVIGATION_TIMEOUT_MS;
  }

  /** Pages open or opening now. */
  get size(): number {
    return this.#entries.filter((entry) => !entry.broken && !entry.retired).length;
  }

  /** Pages opened since the pool was made, replacements included. */
  get pagesCreated(): number {
    return this.#pagesCreated;
  }

  /** Calls and streams running now, over all pages. */
  get busy(): number {
    return this.#entries.reduce((sum, entry) => sum + entry.busy, 0);
  }

  /** The most pages the pool keeps. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Runs `fn` on the least busy healthy page. When the page turns out to be gone (closed,
   * crashed, detached, its browser relaunched) and `fn` had not extended its lease, the call
   * runs once more on a fresh page; any other failure is the caller's.
   */
  async withPage<T>(fn: (page: Page, lease: PageLease) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const { entry, page } = await this.#take();
      let released = false;
      let extended = false;
      const release = () => {
        if (released) return;
        released = true;
        this.#release(entry);
      };
      const lease: PageLease = {
        page,
        extend: () => {
          extended = true;
          return release;
        },
      };
      try {
        return await fn(page, lease);
      } catch (error) {
        // A failed call hands nothing over, so an extension it asked for ends here too.
        release();
        if (attempt === 0 && !extended && this.#isGone(entry, page, error)) {
          this.#discard(entry);
          continue;
        }
        throw error;
      } finally {
        if (!extended) release();
      }
    }
  }

  /** Opens pages up to the pool's size now instead of on demand. */
  async warm(): Promise<void> {
    const missing = this.#capacity - this.size;
    const created = Array.from({ length: Math.max(0, missing) }, () => this.#create());
    await Promise.all(created.map((entry) => entry.ready));
  }

  /**
   * Replaces every page: idle ones close now, busy ones once their last stream ends. For when
   * the pages' state went stale (an expired anti-bot clearance a reload renews, a new login).
   */
  recycle(): void {
    for (const entry of this.#entries) {
      entry.retired = true;
      if (entry.busy === 0) this.#discard(entry);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const entries = this.#entries.splice(0);
    await Promise.all(
      entries.map(async (entry) => {
        entry.broken = true;
        const page = entry.page ?? (await entry.ready.catch(() => undefined));
        await page?.close().catch(() => {});
      }),
    );
  }

  /** A checked page with its busy count already taken. */
  async #take(): Promise<{ entry: PooledPage; page: Page }> {
    // Bounded: each round either returns or throws away one page that failed its check.
    for (let round = 0; round <= this.#capacity + 1; round++) {
      if (this.#closed) throw new Error("The browser page pool is closed");
      const entry = this.#choose();
      entry.busy++;
      let page: Page;
      try {
        page = await entry.ready;
      } catch (error) {
        // No page could be opened (no browser, upstream unreachable): trying again at once
        // would only repeat a slow failure.
        entry.busy--;
        this.#discard(entry);
        throw error;
      }
      if (await this.#isHealthy(entry, page)) return { entry, page };
      entry.busy--;
      this.#discard(entry);
    }
    throw new Error("No healthy browser page could be opened");
  }

  /** Least busy usable page; a new one while the pool is below size and all pages are busy. */
  #choose(): PooledPage {
    let best: PooledPage | undefined;
    let usable = 0;
    for (const entry of this.#entries) {
      if (entry.broken || entry.retired) continue;
      usable++;
      if (!best || entry.busy < best.busy) best = entry;
    }
    if (best && (best.busy === 0 || usable >= this.#capacity)) return best;
    return this.#create();
  }

  #create(): PooledPage {
    const entry: PooledPage = {
      ready: this.#open((page) => {
        entry.page = page;
        page.on("close", () => {
          entry.broken = true;
          this.#forget(entry);
        });
        page.on("crash", () => {
          entry.broken = true;
          page.close().catch(() => {});
        });
      }),
      page: undefined,
      busy: 0,
      broken: false,
      retired: false,
    };
    // Awaited by whoever takes the page; this only keeps an unawaited failure from being loud.
    entry.ready.catch(() => {});
    this.#entries.push(entry);
    return entry;
  }

  async #open(adopt: (page: Page) => void): Promise<Page> {
    const page = await this.#openPage();
    this.#pagesCreated++;
    adopt(page);
    try {
      await page.goto(this.#homeUrl, { waitUntil: "domcontentloaded", timeout: this.#navigationTimeoutMs });
    } catch (error) {
      await page.close().catch(() => {});
      throw error;
    }
    if (this.#closed) {
      await page.close().catch(() => {});
      throw new Error("The browser page pool is closed");
    }
    return page;
  }

  /** Alive, still on the upstream origin, and its main frame answers quickly. */
  async #isHealthy(entry: PooledPage, page: Page): Promise<boolean> {
    if (entry.broken || page.isClosed() || page.mainFrame().isDetached()) return false;
    if (!this.#isOnOrigin(page.url())) return false;
    const probe = page.evaluate(() => document.readyState);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("health check timed out")), this.#checkTimeoutMs);
    });
    try {
      await Promise.race([probe, timeout]);
      return true;
    } catch {
      probe.catch(() => {});
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  #isOnOrigin(url: string): boolean {
    try {
      return new URL(url).origin === this.#origin;
    } catch {
      return false;
    }
  }

  #isGone(entry: PooledPage, page: Page, error: unknown): boolean {
    if (entry.broken || page.isClosed() || page.mainFrame().isDetached()) return true;
    const message = error instanceof Error ? error.message : String(error);
    return PAGE_GONE.test(message);
  }

  #release(entry: PooledPage): void {
    entry.busy = Math.max(0, entry.busy - 1);
    if (entry.retired && entry.busy === 0) this.#discard(entry);
  }

  /** Takes the page out of rotation and closes it; running streams on it have failed already. */
  #discard(entry: PooledPage): void {
    entry.broken = true;
    this.#forget(entry);
    const page = entry.page;
    if (page) page.close().catch(() => {});
    else entry.ready.then((opened) => opened.close()).catch(() => {});
  }

  #forget(entry: PooledPage): void {
    const index = this.#entries.indexOf(entry);
    if (index !== -1) this.#entries.splice(index, 1);
  }
}
