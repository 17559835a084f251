import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BrowserSurface, clearanceLifetimeSeconds } from "./browser-surface.js";
import { type FakeQwen, startFakeQwen } from "./index.js";
import {
  answerOf,
  completionBody,
  createChat,
  postCompletion,
  postJson,
  readSse,
  spaHeaders,
} from "./test-support.js";

// The browser-facing side seen by a plain HTTP client: which pages exist, what the bot wall
// answers, and that a clearance cookie is only as good as the page that minted it.

const wafMarkers = ["<!doctypehtml>", "aliyun_waf_aa", "安全验证"];
const htmlRoutes = [
  "/",
  "/c/new-chat",
  "/c/0f6c4f8e-7a43-4a39-9f0a-c3f2b3f1f0aa",
  "/auth?action=signin",
  "/auth",
];

/** What the page's inline script does, redone in Node: only the fake's own tests do this. */
function clearanceFromPage(html: string): string {
  const scrambled = /const scrambled = "([^"]+)"/.exec(html)?.[1];
  if (!scrambled) throw new Error("page has no clearance script");
  return [...scrambled].reverse().join("");
}

async function fetchPage(url: string): Promise<{ status: number; contentType: string; html: string }> {
  const response = await fetch(url);
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    html: await response.text(),
  };
}

describe("fake-qwen browser pages and bot wall (plain HTTP)", () => {
  let fake: FakeQwen;
  let account: ReturnType<FakeQwen["addAccount"]>;

  beforeAll(async () => {
    fake = await startFakeQwen({ chunkDelayMs: 0 });
    account = fake.addAccount({ email: "pages@example.com", password: "pages-password" });
  });
  afterEach(() => {
    fake.setBotWall(false);
    fake.setVerification(false);
  });
  afterAll(() => fake.close());

  const clearanceCookie = async () => {
    const { html } = await fetchPage(`${fake.url}/`);
    return `acw_sc__v3=${clearanceFromPage(html)}`;
  };

  it("serves a self-contained sign-in page at /auth", async () => {
    for (const path of ["/auth?action=signin", "/auth"]) {
      const page = await fetchPage(`${fake.url}${path}`);
      expect(page.status).toBe(200);
      expect(page.contentType).toBe("text/html; charset=utf-8");
      expect(page.html).toMatch(/^<!DOCTYPE html>/);
      expect(page.html).toMatch(/<input type="email" id="username"/);
      expect(page.html).toMatch(/<input type="password" id="password"/);
      expect(page.html).toMatch(/<button type="submit"/);
      expect(page.html).toContain('crypto.subtle.digest("SHA-256"');
      expect(page.html).toContain('fetch("/api/v1/auths/signin"');
      expect(page.html).toContain('localStorage.setItem("token"');
      expect(page.html).not.toMatch(/(src|href)="(https?:)?\/\//);
    }
  });

  it("serves the chat shell at /, /c/new-chat and /c/<id>, deciding sign-in state client-side", async () => {
    for (const path of ["/", "/c/new-chat", "/c/3b0e2a8c-5e7b-4c59-a1a4-7d0d4bb2f6a1"]) {
      const page = await fetchPage(`${fake.url}${path}`);
      expect(page.status).toBe(200);
      expect(page.contentType).toBe("text/html; charset=utf-8");
      expect(page.html).toContain("<title>Qwen Chat</title>");
      expect(page.html).toContain('localStorage.getItem("token")');
      expect(page.html).toContain('<body data-state="loading">');
      expect(page.html).not.toMatch(/(src|href)="(https?:)?\/\//);
    }
    expect((await fetch(`${fake.url}/c/a/b`)).status).toBe(404);
  });

  it("sets a fresh clearance cookie from script only, never verbatim in the HTML", async () => {
    const first = await fetchPage(`${fake.url}/`);
    const second = await fetchPage(`${fake.url}/auth`);
    const value = clearanceFromPage(first.html);
    expect(value).toMatch(/^[0-9a-z]+-[0-9a-f]{8}\.[0-9a-f]{64}$/);
    expect(first.html).not.toContain(value);
    expect(first.html).toContain('document.cookie = "acw_sc__v3=" + value + "; path=/;');
    expect(clearanceFromPage(second.html)).not.toBe(value);
  });

  it("counts page loads and logs them with the other requests", async () => {
    const before = fake.pageLoads;
    fake.clearRequests();
    await fetchPage(`${fake.url}/`);
    await fetchPage(`${fake.url}/auth?action=signin`);
    await fetch(`${fake.url}/api/models`);
    expect(fake.pageLoads).toBe(before + 2);
    expect(fake.requests.map((entry) => entry.path)).toEqual(["/", "/auth", "/api/models"]);
    expect(fake.requests[1]?.query).toEqual({ action: "signin" });
  });

  it("verification mode turns every page into the slider interstitial, without clearance", async () => {
    fake.setVerification(true);
    for (const path of htmlRoutes) {
      const page = await fetchPage(`${fake.url}${path}`);
      expect(page.status).toBe(200);
      expect(page.contentType).toBe("text/html; charset=utf-8");
      expect(/<title>([^<]*)<\/title>/.exec(page.html)?.[1]).toContain("Verification");
      expect(page.html).toContain("滑块验证");
      expect(page.html).not.toContain("acw_sc__v3");
      expect(page.html).not.toContain('id="username"');
    }
    // The API is not behind the interstitial.
    const user = await fetch(`${fake.url}/api/v1/auths/`, { headers: spaHeaders(account.token) });
    expect(user.status).toBe(200);
    fake.setVerification(false);
    expect((await fetchPage(`${fake.url}/`)).html).toContain("<title>Qwen Chat</title>");
  });

  it("bot wall: /api/v2 without clearance gets the 200 HTML challenge, before authentication", async () => {
    fake.setBotWall(true);
    const chatId = "00000000-0000-4000-8000-000000000000";
    const blocked = [
      () =>
        fetch(`${fake.url}/api/v2/chats/new`, {
          method: "POST",
          headers: spaHeaders(account.token),
          body: "{}",
        }),
      () => postCompletion(fake, account.token, chatId, completionBody(chatId)),
      () => fetch(`${fake.url}/api/v2/chats/`, { headers: spaHeaders(account.token) }),
      () => fetch(`${fake.url}/api/v2/chats/new`, { method: "POST", body: "{}" }),
      () => fetch(`${fake.url}/api/v2/nothing-here`),
    ];
    for (const send of blocked) {
      const response = await send();
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/html");
      const html = await response.text();
      for (const marker of wafMarkers) expect(html).toContain(marker);
    }
  });

  it("bot wall: the model list, the current user and sign-in stay reachable as JSON", async () => {
    fake.setBotWall(true);
    for (const path of ["/api/models", "/api/v2/models", "/api/v1/auths/"]) {
      const response = await fetch(`${fake.url}${path}`, { headers: spaHeaders(account.token) });
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type"), path).toContain("application/json");
      await response.arrayBuffer();
    }
    const signin = await postJson(
      `${fake.url}/api/v1/auths/signin`,
      { email: account.email, password: "wrong" },
      {},
    );
    expect(signin).toMatchObject({ status: 400, json: { detail: "incorrect" } });
  });

  it("bot wall: a clearance cookie from a page lets JSON and SSE through", async () => {
    fake.setBotWall(true);
    const cookie = await clearanceCookie();
    const headers = spaHeaders(account.token, { cookie: `cna=x; ${cookie}; token=${account.token}` });
    const created = await postJson(
      `${fake.url}/api/v2/chats/new`,
      { title: "New Chat", models: ["qwen3.7-plus"], chat_mode: "normal", chat_type: "t2t" },
      headers,
    );
    expect(created).toMatchObject({ status: 200, json: { success: true } });
    const chatId = (created.json.data as { id: string }).id;
    const response = await postCompletion(
      fake,
      account.token,
      chatId,
      completionBody(chatId, { text: "through the wall" }),
      headers,
    );
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(answerOf((await readSse(response)).events)).toContain("You said: «through the wall»");
    // The wall answers before authentication, but clearance does not replace the token.
    const anonymous = await fetch(`${fake.url}/api/v2/chats/`, { headers: { cookie } });
    expect(anonymous.status).toBe(401);
  });

  it("bot wall: forged, invalidated and absent-wall cases", async () => {
    fake.setBotWall(true);
    const listChats = (cookie: string) =>
      fetch(`${fake.url}/api/v2/chats/`, { headers: spaHeaders(account.token, { cookie }) });
    const isChallenge = async (response: Response) =>
      (response.headers.get("content-type") ?? "").includes("text/html") &&
      (await response.text()).includes("aliyun_waf_aa");

    const cookie = await clearanceCookie();
    const [issuedAt] = cookie.slice("acw_sc__v3=".length).split(".");
    expect(await isChallenge(await listChats(`acw_sc__v3=${issuedAt}.${"0".repeat(64)}`))).toBe(true);
    expect(await isChallenge(await listChats("acw_sc__v3="))).toBe(true);
    expect(await isChallenge(await listChats(cookie))).toBe(false);

    fake.invalidateClearance();
    expect(await isChallenge(await listChats(cookie))).toBe(true);
    expect(await isChallenge(await listChats(await clearanceCookie()))).toBe(false);

    fake.setBotWall(false);
    await createChat(fake, account.token);
  });

  it("clearance expires after its lifetime", () => {
    const surface = new BrowserSurface();
    const issuedAt = Date.parse("2026-08-01T10:00:00Z");
    const value = surface.issueClearance(issuedAt);
    expect(surface.isClearanceValid(value, issuedAt + 1000)).toBe(true);
    expect(surface.isClearanceValid(value, issuedAt + clearanceLifetimeSeconds * 1000)).toBe(true);
    expect(surface.isClearanceValid(value, issuedAt + clearanceLifetimeSeconds * 1000 + 1)).toBe(false);
    expect(surface.isClearanceValid(value, issuedAt - 60_000)).toBe(false);
    expect(new BrowserSurface().isClearanceValid(value, issuedAt + 1000)).toBe(false);
  });
});
