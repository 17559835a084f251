import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CHROMIUM_PATH,
  hasChromium,
  startTestUpstream,
  type TestUpstream,
} from "../../testing/browser-harness.js";
import { CHROMIUM_ARGS } from "./account-browser.js";
import { PagePool } from "./page-pool.js";

const pause = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

describe.skipIf(!hasChromium)("PagePool in a real Chromium", () => {
  let upstream: TestUpstream;
  let browser: Browser;
  let context: BrowserContext;
  const pools: PagePool[] = [];

  const makePool = (size = 2): PagePool => {
    const pool = new PagePool({ baseUrl: upstream.url, size, openPage: () => context.newPage() });
    pools.push(pool);
    return pool;
  };

  beforeAll(async () => {
    [upstream, browser] = await Promise.all([
      startTestUpstream(),
      chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS] }),
    ]);
    context = await browser.newContext();
  });

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await upstream?.close();
  });

  it("opens pages on demand up to its size and spreads concurrent calls over them", async () => {
    const pool = makePool(2);
    expect(pool.size).toBe(0);
    const seen = new Map<Page, number>();
    await Promise.all(
      Array.from({ length: 6 }, () =>
        pool.withPage(async (page) => {
          seen.set(page, (seen.get(page) ?? 0) + 1);
          expect(page.url()).toBe(`${upstream.url}/`);
          await pause(100);
        }),
      ),
    );
    expect(pool.pagesCreated).toBe(2);
    expect(pool.size).toBe(2);
    expect([...seen.values()]).toEqual([3, 3]);
    expect(pool.busy).toBe(0);

    // One at a time, a single page is enough.
    const sequential = makePool(2);
    for (let index = 0; index < 3; index++) await sequential.withPage(async () => {});
    expect(sequential.pagesCreated).toBe(1);
  });

  it("replaces a closed or navigated-away page before handing it out", async () => {
    const pool = makePool(1);
    const first = await pool.withPage(async (page) => page);
    await first.close();
    const second = await pool.withPage(async (page) => page);
    expect(second).not.toBe(first);
    expect(second.isClosed()).toBe(false);

    await second.goto("about:blank");
    const third = await pool.withPage(async (page) => page);
    expect(third).not.toBe(second);
    expect(third.url()).toBe(`${upstream.url}/`);
    expect(pool.pagesCreated).toBe(3);
    expect(pool.size).toBe(1);
  });

  it("runs a call once more on a fresh page when its page dies under it, and only then", async () => {
    const pool = makePool(1);
    let calls = 0;
    const result = await pool.withPage(async (page) => {
      calls++;
      if (calls === 1) {
        await page.close();
        return page.evaluate(() => "unreachable");
      }
      return page.evaluate(() => "from the replacement");
    });
    expect(result).toBe("from the replacement");
    expect(calls).toBe(2);

    let failing = 0;
    await expect(
      pool.withPage(async () => {
        failing++;
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(failing).toBe(1);
  });

  it("keeps a page busy past the call when the lease is extended", async () => {
    const pool = makePool(2);
    const release = await pool.withPage(async (_page, lease) => lease.extend());
    expect(pool.busy).toBe(1);
    // The busy page is passed over for a second one.
    await pool.withPage(async () => {});
    expect(pool.pagesCreated).toBe(2);
    release();
    release();
    expect(pool.busy).toBe(0);
  });

  it("recycle replaces idle pages now and busy ones when they are done", async () => {
    const pool = makePool(2);
    await pool.warm();
    expect(pool.pagesCreated).toBe(2);
    const release = await pool.withPage(async (_page, lease) => lease.extend());
    pool.recycle();
    expect(pool.size).toBe(0);
    await pool.withPage(async () => {});
    expect(pool.pagesCreated).toBe(3);
    release();
    await expect.poll(() => context.pages().filter((page) => !page.isClosed()).length).toBe(1);
  });

  it("fails fast when no page can be opened", async () => {
    let attempts = 0;
    const pool = new PagePool({
      baseUrl: upstream.url,
      openPage: async () => {
        attempts++;
        throw new Error("no browser here");
      },
    });
    pools.push(pool);
    await expect(pool.withPage(async () => {})).rejects.toThrow("no browser here");
    expect(attempts).toBe(1);
    expect(pool.size).toBe(0);
  });

  it("refuses work once closed", async () => {
    const pool = makePool(1);
    await pool.withPage(async () => {});
    await pool.close();
    await expect(pool.withPage(async () => {})).rejects.toThrow(/closed/);
  });
});
