import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "./index.js";
import { answerOf, completionBody, readSse, spaHeaders } from "./test-support.js";

// The fake driven by a real headless Chromium, the way the product's browser mode uses the
// site: sign in through the form, then make API calls from inside the logged-in page while
// the bot wall turns plain HTTP away.

// The project compiles without the DOM library; these callbacks run in the page, where it exists.
declare const localStorage: {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
};

const chromiumPath = "/usr/bin/chromium";
const chromiumArguments = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
];

interface InPageResponse {
  status: number;
  contentType: string;
  text: string;
}

/** A same-origin fetch run inside the page, with the page's own cookies. */
function fetchInPage(
  page: Page,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<InPageResponse> {
  return page.evaluate(
    async ({ path, init }) => {
      const response = await fetch(path, init);
      return {
        status: response.status,
        contentType: response.headers.get("content-type") ?? "",
        text: await response.text(),
      };
    },
    { path, init },
  );
}

// Chromium is part of the test set-up (.ci/run installs it): without it these tests fail, loudly.
describe("fake-qwen in a real browser", () => {
  let fake: FakeQwen;
  let browser: Browser;
  let account: ReturnType<FakeQwen["addAccount"]>;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [fake, browser] = await Promise.all([
      startFakeQwen({ chunkDelayMs: 0 }),
      chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArguments }),
    ]);
    account = fake.addAccount({ email: "browser@example.com", password: "correct horse", name: "Browser" });
  });
  afterEach(async () => {
    fake.setBotWall(false);
    fake.setVerification(false);
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });
  afterAll(async () => {
    await browser?.close();
    await fake?.close();
  });

  const newPage = async (): Promise<Page> => {
    const context = await browser.newContext();
    contexts.push(context);
    return context.newPage();
  };

  /** Fills the form the way a login flow would and waits for the chat UI. */
  const signIn = async (page: Page): Promise<void> => {
    await page.goto(`${fake.url}/auth?action=signin`);
    await page.fill("input[type=email]", account.email);
    await page.fill("input[type=password]", account.password);
    await page.press("#password", "Enter");
    await page.waitForURL(`${fake.url}/`);
    await page.waitForSelector("#chat-ready");
  };

  it("shows .login-container on / without a valid token, and sets clearance anyway", async () => {
    const page = await newPage();
    await page.goto(`${fake.url}/`);
    await page.waitForSelector("body[data-state=signed-out]");
    expect(await page.title()).toBe("Qwen Chat");
    expect(await page.locator(".login-container").count()).toBe(1);
    expect(await page.getAttribute(".login-container a", "href")).toBe("/auth?action=signin");
    expect(await page.locator("#chat-ready").count()).toBe(0);
    const cookies = await page.context().cookies();
    expect(cookies.find((cookie) => cookie.name === "acw_sc__v3")?.value).toMatch(
      /^[0-9a-z]+-[0-9a-f]{8}\.[0-9a-f]{64}$/,
    );

    // A stale token in localStorage is no better than none.
    await page.evaluate(() => localStorage.setItem("token", "stale.token.value"));
    await page.reload();
    await page.waitForSelector("body[data-state=signed-out]");
    expect(await page.locator(".login-container").count()).toBe(1);
  });

  it("signs in through the form: error text first, then token, user_info, cookie and chat UI", async () => {
    const page = await newPage();
    await page.goto(`${fake.url}/auth?action=signin`);
    await page.fill("#username", account.email);
    await page.fill("#password", "wrong password");
    await page.click("button[type=submit]");
    await page.waitForSelector(".login-error");
    expect(await page.textContent(".login-error")).toContain("incorrect");

    fake.clearRequests();
    await signIn(page);
    expect(await page.textContent("#chat-ready")).toBe(account.email);
    expect(await page.locator(".login-container").count()).toBe(0);
    const signinRequest = fake.requests.find((entry) => entry.path === "/api/v1/auths/signin");
    expect(signinRequest?.body).toMatchObject({
      email: account.email,
      password: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    const stored = await page.evaluate(() => ({
      token: localStorage.getItem("token"),
      userInfo: localStorage.getItem("user_info"),
    }));
    expect(JSON.parse(stored.userInfo ?? "null")).toEqual({ email: account.email, nickname: "Browser" });
    const tokenCookie = (await page.context().cookies()).find((cookie) => cookie.name === "token");
    expect(tokenCookie?.value).toBe(stored.token);
    expect(tokenCookie?.path).toBe("/");
    const user = await fetch(`${fake.url}/api/v1/auths/`, { headers: spaHeaders(stored.token ?? "") });
    expect(((await user.json()) as { id: string }).id).toBe(account.id);

    // A reload keeps the session, as S1's success test expects.
    await page.reload();
    await page.waitForSelector("body[data-state=chat]");
    expect(await page.locator(".login-container").count()).toBe(0);
  });

  it("lets in-page fetches through the bot wall while plain HTTP gets the challenge", async () => {
    const page = await newPage();
    await signIn(page);
    const token = (await page.evaluate(() => localStorage.getItem("token"))) ?? "";
    fake.setBotWall(true);
    const headers = spaHeaders(token);
    const newChatBody = JSON.stringify({ title: "New Chat", models: ["qwen3.7-plus"], chat_mode: "normal" });

    fake.clearRequests();
    const created = await fetchInPage(page, "/api/v2/chats/new", {
      method: "POST",
      headers,
      body: newChatBody,
    });
    expect(created.status).toBe(200);
    expect(created.contentType).toContain("application/json");
    const chatId = (JSON.parse(created.text) as { data: { id: string } }).data.id;
    expect(chatId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fake.requests[0]?.headers.cookie).toMatch(/acw_sc__v3=[0-9a-z]+-[0-9a-f]{8}\.[0-9a-f]{64}/);

    const completion = await fetchInPage(page, `/api/v2/chat/completions?chat_id=${chatId}`, {
      method: "POST",
      headers,
      body: JSON.stringify(completionBody(chatId, { text: "from the page" })),
    });
    expect(completion.contentType).toContain("text/event-stream");
    const events = await readSse(new Response(completion.text));
    expect(answerOf(events.events)).toContain("You said: «from the page»");

    const direct = await fetch(`${fake.url}/api/v2/chats/new`, {
      method: "POST",
      headers,
      body: newChatBody,
    });
    expect(direct.status).toBe(200);
    expect(direct.headers.get("content-type")).toContain("text/html");
    expect(await direct.text()).toContain("aliyun_waf_aa");

    // Expired clearance blocks the page too, until it is reloaded.
    fake.invalidateClearance();
    const stale = await fetchInPage(page, "/api/v2/chats/", { headers });
    expect(stale.contentType).toContain("text/html");
    await page.reload();
    await page.waitForSelector("#chat-ready");
    const fresh = await fetchInPage(page, "/api/v2/chats/", { headers });
    expect(fresh.contentType).toContain("application/json");
  });

  it("shows the verification interstitial on every page while it is switched on", async () => {
    const page = await newPage();
    fake.setVerification(true);
    const loadsBefore = fake.pageLoads;
    await page.goto(`${fake.url}/auth?action=signin`);
    expect(await page.title()).toContain("Verification");
    expect(await page.textContent("h1")).toBe("滑块验证");
    expect(await page.locator("#username").count()).toBe(0);
    await page.goto(`${fake.url}/`);
    expect(await page.title()).toContain("Verification");
    expect(fake.pageLoads).toBe(loadsBefore + 2);
    expect((await page.context().cookies()).some((cookie) => cookie.name === "acw_sc__v3")).toBe(false);

    fake.setVerification(false);
    await page.goto(`${fake.url}/auth?action=signin`);
    expect(await page.title()).not.toContain("Verification");
    expect(await page.locator("#username").count()).toBe(1);
  });
});
