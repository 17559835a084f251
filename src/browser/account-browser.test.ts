import { copyFileSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHROMIUM_PATH,
  hasChromium,
  killBrowserOnProfile,
  makeTemporaryDirectory,
  readTimed,
  startTestUpstream,
  type TestUpstream,
} from "../../testing/browser-harness.js";
import { BrowserTransport } from "../transport/browser.js";
import { AccountBrowser, type AccountBrowserOptions } from "./account-browser.js";
import type { StorageState } from "./storage-state.js";

// The project compiles without the DOM library; these callbacks run in the page, where it exists.
declare const window: { __seenToken?: string | null };
declare const localStorage: {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
};

/** A JWT-shaped token that expires in a day, so the injected cookie is a persistent one. */
function makeToken(userId: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const exp = Math.floor(Date.now() / 1000) + 86_400;
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode({ id: userId, exp })}.signature`;
}

describe.skipIf(!hasChromium)("AccountBrowser in a real Chromium", () => {
  let upstream: TestUpstream;
  const dataDir = makeTemporaryDirectory("fqa-account-");
  const opened: AccountBrowser[] = [];

  const open = (overrides: Partial<AccountBrowserOptions> = {}): AccountBrowser => {
    const browser = new AccountBrowser({
      accountId: "acct_one",
      dataDir: dataDir.path,
      baseUrl: upstream.url,
      headless: true,
      chromiumPath: CHROMIUM_PATH,
      poolSize: 1,
      settleTimeoutMs: 2_000,
      ...overrides,
    });
    opened.push(browser);
    return browser;
  };

  beforeAll(async () => {
    upstream = await startTestUpstream();
  });

  afterAll(async () => {
    await Promise.all(opened.map((browser) => browser.close()));
    await upstream?.close();
    dataDir.remove();
  });

  it("injectToken puts the token where the page's first script and its fetches find it", async () => {
    const token = makeToken("one");
    const browser = open({ accountId: "acct_inject" });
    await browser.injectToken(token);
    upstream.requests.length = 0;
    await browser.start();
    const seen = await browser.pool.withPage((page) => page.evaluate(() => window.__seenToken));
    expect(seen).toBe(token);
    // The cookie went with the very first document request, before any script ran.
    const homeRequest = upstream.requests.find((entry) => entry.path === "/");
    expect(homeRequest?.headers.cookie).toContain(`token=${token}`);
    expect(await browser.readToken()).toBe(token);
    expect(await browser.pageState()).toBe("logged-in");

    const transport = new BrowserTransport({ pages: browser.pool });
    const echo = await transport.request({ method: "GET", url: `${upstream.url}/echo`, headers: {} });
    const echoed = JSON.parse((await readTimed(echo.body)).text) as { headers: Record<string, string> };
    expect(echoed.headers.cookie).toContain(`token=${token}`);

    // A later token replaces it in the live pages at once.
    const renewed = makeToken("one-renewed");
    await browser.injectToken(renewed);
    expect(await browser.readToken()).toBe(renewed);

    // A token the web app renewed on its own is not overwritten by the next page load.
    await browser.pool.withPage((page) => page.evaluate(() => localStorage.setItem("token", "app-renewed")));
    browser.pool.recycle();
    expect(await browser.pool.withPage((page) => page.evaluate(() => window.__seenToken))).toBe(
      "app-renewed",
    );
  });

  it("claims an ordinary Chrome of its own version, agreeing with the client hints it sends", async () => {
    const browser = open({ accountId: "acct_agent" });
    upstream.requests.length = 0;
    await browser.start();
    const transport = new BrowserTransport({ pages: browser.pool });
    const echo = await transport.request({ method: "GET", url: `${upstream.url}/echo`, headers: {} });
    const { headers } = JSON.parse((await readTimed(echo.body)).text) as { headers: Record<string, string> };
    const claimed = /Chrome\/(\d+)\.0\.0\.0 Safari\/537\.36$/.exec(headers["user-agent"] ?? "");
    expect(headers["user-agent"]).not.toContain("Headless");
    expect(claimed).not.toBeNull();
    expect(headers["sec-ch-ua"]).toContain(`"Chromium";v="${claimed?.[1]}"`);
    expect(headers["sec-ch-ua-platform"]).toBe('"Linux"');
    expect(headers["user-agent"]).toContain("(X11; Linux x86_64)");
    // The page load itself said the same.
    expect(upstream.requests.find((entry) => entry.path === "/")?.headers["user-agent"]).toBe(
      headers["user-agent"],
    );
  });

  it("claims the configured user agent when the user chose one", async () => {
    const chosen =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Safari/537.36";
    const browser = open({ accountId: "acct_chosen", userAgent: chosen });
    await browser.start();
    const transport = new BrowserTransport({ pages: browser.pool });
    const echo = await transport.request({ method: "GET", url: `${upstream.url}/echo`, headers: {} });
    const { headers } = JSON.parse((await readTimed(echo.body)).text) as { headers: Record<string, string> };
    expect(headers["user-agent"]).toBe(chosen);
  });

  it("pageState tells logged-out, logged-in and the verification page apart", async () => {
    const browser = open({ accountId: "acct_state" });
    expect(await browser.pageState()).toBe("logged-out");
    await browser.injectToken(makeToken("state"));
    expect(await browser.pageState()).toBe("logged-in");
    upstream.verification = true;
    try {
      expect(await browser.pageState()).toBe("verification");
    } finally {
      upstream.verification = false;
    }
  });

  it("saveState writes a 0600 file, and the login survives a restart and a move", async () => {
    const token = makeToken("saved");
    const browser = open({ accountId: "acct_saved" });
    await browser.injectToken(token);
    await browser.start();
    // A session cookie (no expiry): the profile drops it on restart, the saved state keeps it.
    await browser.pool.withPage((page) =>
      page.evaluate(() => fetch("/set-cookie", { credentials: "include" }).then(() => undefined)),
    );
    await browser.saveState();

    const stat = statSync(browser.storageStatePath);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(statSync(dirname(browser.storageStatePath)).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(readFileSync(browser.storageStatePath, "utf8")) as StorageState;
    expect(saved.cookies.map((cookie) => cookie.name).sort()).toEqual(["session", "token"]);
    expect(saved.origins[0]?.localStorage).toContainEqual({ name: "token", value: token });
    await browser.close();

    // Same data directory: the session cookie comes back from the file (a restart drops it
    // from the profile), and a token injected before start wins over the one stored.
    const replacement = makeToken("replacement");
    const restarted = open({ accountId: "acct_saved" });
    await restarted.injectToken(replacement);
    await restarted.start();
    expect(await restarted.readToken()).toBe(replacement);
    const cookies = await (await restarted.context()).cookies(upstream.url);
    expect(Object.fromEntries(cookies.map((cookie) => [cookie.name, cookie.value]))).toEqual({
      session: "granted",
      token: replacement,
    });
    await restarted.close();

    // Only the JSON goes to another machine; the login comes back from it alone.
    const elsewhere = makeTemporaryDirectory("fqa-moved-");
    try {
      const target = join(elsewhere.path, "accounts", "acct_saved", "storage-state.json");
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(browser.storageStatePath, target);
      const moved = open({ accountId: "acct_saved", dataDir: elsewhere.path });
      expect(await moved.readToken()).toBe(token);
      const guarded = await moved.pool.withPage((page) =>
        page.evaluate(() => fetch("/needs-cookie").then((response) => response.status)),
      );
      expect(guarded).toBe(200);
      expect(await moved.pageState()).toBe("logged-in");
      await moved.close();
    } finally {
      elsewhere.remove();
    }
  });

  it("relaunches after the browser is killed, and callers waiting for a page get the new one", async () => {
    const token = makeToken("crash");
    const browser = open({ accountId: "acct_crash", poolSize: 2 });
    await browser.injectToken(token);
    await browser.start();
    const transport = new BrowserTransport({ pages: browser.pool });
    const first = await transport.request({ method: "GET", url: `${upstream.url}/echo`, headers: {} });
    await readTimed(first.body);
    expect(browser.launches).toBe(1);

    killBrowserOnProfile(browser.profileDirectory);
    // Asked for straight away, before anyone has noticed the crash.
    const [afterKill, token2] = await Promise.all([
      transport.request({ method: "GET", url: `${upstream.url}/echo`, headers: {} }),
      browser.readToken(),
    ]);
    expect(afterKill.status).toBe(200);
    const echoed = JSON.parse((await readTimed(afterKill.body)).text) as { headers: Record<string, string> };
    expect(echoed.headers.cookie).toContain(`token=${token}`);
    expect(token2).toBe(token);
    expect(browser.launches).toBe(2);

    // A context closed under it counts the same.
    await (await browser.context()).close();
    const afterClose = await transport.request({ method: "GET", url: `${upstream.url}/echo`, headers: {} });
    expect(afterClose.status).toBe(200);
    await readTimed(afterClose.body);
    expect(browser.launches).toBe(3);
  });

  it("is done once closed", async () => {
    const browser = open({ accountId: "acct_closed" });
    await browser.start();
    await browser.close();
    await expect(browser.context()).rejects.toThrow(/closed/);
    await expect(browser.readToken()).rejects.toThrow(/closed/);
  });
});
