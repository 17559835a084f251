import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../../testing/proxy-harness.js";
import { TokenKeeper } from "../accounts/token-keeper.js";

/**
 * The product's namesake, end to end: the fake's bot wall refuses plain HTTP that lacks the
 * clearance cookie its pages' scripts set, so only requests made from a real Chromium page
 * get through.
 */
let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ config: { transport: "auto", browserStickyMs: 60_000 } });
});

afterAll(async () => {
  await harness.close();
});

afterEach(() => {
  harness.fake.setBotWall(false);
  harness.fake.setVerification(false);
});

function requestsTo(path: string) {
  return harness.fake.requests.filter((entry) => entry.path === path);
}

describe("behind the bot wall", () => {
  it("falls back from direct HTTP to the account's page and answers, streaming", async () => {
    harness.fake.setBotWall(true);
    harness.fake.clearRequests();
    const stream = await harness.client().chat.completions.create({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "Через стену 🧱" }],
      stream: true,
    });
    let content = "";
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
    expect(content).toContain("You said: «Через стену 🧱»");

    const creations = requestsTo("/api/v2/chats/new");
    // First the direct attempt met the wall, then the same request came from the page.
    expect(creations.length).toBeGreaterThanOrEqual(2);
    expect(creations[0]?.headers.cookie ?? "").not.toContain("acw_sc__v3");
    expect(creations.at(-1)?.headers.cookie).toContain("acw_sc__v3");
    const completions = requestsTo("/api/v2/chat/completions");
    expect(completions).toHaveLength(1);
    expect(completions[0]?.headers.cookie).toContain("acw_sc__v3");
    expect(harness.fake.pageLoads).toBeGreaterThan(0);
  });

  it("an empty stream over plain HTTP (created, finished, nothing in it) is retried through the page", async () => {
    const proxy = await harness.startProxy({
      tokens: [harness.accounts[0]!.token],
      config: { transport: "auto", browserStickyMs: 60_000 },
    });
    harness.fake.clearRequests();
    harness.fake.setScenario({ kind: "no-answer" }, { times: 1 });
    const completion = await proxy.client().chat.completions.create({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "empty first" }],
    });
    expect(completion.choices[0]?.message.content).toContain("You said: «empty first»");
    const completions = requestsTo("/api/v2/chat/completions");
    expect(completions).toHaveLength(2);
    expect(completions[0]?.headers.cookie ?? "").not.toContain("acw_sc__v3");
    expect(completions[1]?.headers.cookie).toContain("acw_sc__v3");
    harness.fake.clearScenario();
  });

  it("stays on the page for a while: the next request goes there without a direct try", async () => {
    harness.fake.setBotWall(true);
    harness.fake.clearRequests();
    const completion = await harness.client().chat.completions.create({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "again" }],
    });
    expect(completion.choices[0]?.message.content).toContain("again");
    const creations = requestsTo("/api/v2/chats/new");
    expect(creations).toHaveLength(1);
    expect(creations[0]?.headers.cookie).toContain("acw_sc__v3");
  });

  it("a verification in the page itself marks the account needs_verification and says what to do", async () => {
    const proxy = await harness.startProxy({
      tokens: [harness.accounts[0]!.token],
      config: { transport: "browser" },
    });
    harness.fake.setBotWall(true);
    harness.fake.setVerification(true);
    harness.fake.invalidateClearance();
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "qwen3.7-plus", messages: [{ role: "user", content: "hello" }] }),
    });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.message, JSON.stringify(body)).toMatch(/login/);
    const status = (await (await fetch(`${proxy.url}/api/status`)).json()) as {
      accounts: Array<{ state: string; lastError: string | null }>;
    };
    expect(status.accounts[0]?.state).toBe("needs_verification");
    expect(status.accounts[0]?.lastError).toMatch(/npm start -- login --account/);
  });
});

describe("token refresh from the page", () => {
  it("takes the token the web app renewed in the page, before the old one expires", async () => {
    const { fake, accounts } = harness;
    const account = accounts[0]!;
    // A token close to its end, as the proxy holds it…
    const ageing = fake.issueToken(account.id, { expiresInSeconds: 3600 });
    const proxy = await harness.startProxy({ tokens: [ageing], config: { transport: "auto" } });
    const runtime = proxy.server.context.accountsRuntime;
    const [pooled] = runtime.pool.accounts();
    if (!pooled || !runtime.browsers) throw new Error("the proxy has no account or no browsers");
    // …while the page holds a fresh one, as the web app keeps its session renewed.
    const fresh = fake.issueToken(account.id, { expiresInSeconds: 30 * 86_400 });
    const browser = await runtime.browsers.forAccount(pooled.id, () => pooled.token);
    await browser.injectToken(fresh);

    const keeper = new TokenKeeper({
      pool: runtime.pool,
      browsers: runtime.browsers,
      dataDir: proxy.server.context.config.dataDir,
      baseUrl: fake.url,
    });
    await keeper.checkAll();
    expect(pooled.token).toBe(fresh);

    fake.clearRequests();
    const completion = await proxy.client().chat.completions.create({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "with the renewed token" }],
    });
    expect(completion.choices[0]?.message.content).toContain("renewed token");
    expect(requestsTo("/api/v2/chat/completions")[0]?.headers.authorization).toBe(`Bearer ${fresh}`);
  });

  it("a page that is logged out leaves the account expired, with the way to fix it", async () => {
    const { fake, accounts } = harness;
    const revoked = fake.issueToken(accounts[0]!.id, { expiresInSeconds: 1800 });
    fake.revokeToken(revoked);
    const proxy = await harness.startProxy({ tokens: [revoked], config: { transport: "auto" } });
    const runtime = proxy.server.context.accountsRuntime;
    const [pooled] = runtime.pool.accounts();
    if (!pooled) throw new Error("no account");
    const keeper = new TokenKeeper({
      pool: runtime.pool,
      browsers: runtime.browsers,
      dataDir: proxy.server.context.config.dataDir,
      baseUrl: fake.url,
    });
    expect(await keeper.refresh(pooled)).toBe(false);
    expect(pooled.token).toBe(revoked);
  });
});
