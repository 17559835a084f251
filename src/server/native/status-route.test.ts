import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, expectError, freePort, TempDirs } from "../../../testing/native-harness.js";
import { type Harness, startHarness } from "../../../testing/proxy-harness.js";

// GET /api/status: the proxy's version and uptime, upstream reachability, and each account's
// state, never its token.

const VERSION = (
  JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

const dirs = new TempDirs();
let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ accounts: 2, config: { dataDir: dirs.make() } });
});

afterAll(async () => {
  await harness?.close();
  dirs.removeAll();
});

/** Every secret of an account, and the distinctive parts of its JWT. */
function secretsOf(account: Harness["accounts"][number]): string[] {
  const [, payload, signature] = account.token.split(".");
  return [account.token, signature!, payload!, account.password].filter((secret) => secret.length >= 6);
}

describe("GET /api/status", () => {
  it("reports version, uptime, upstream and every account, without any secret", async () => {
    // Some traffic first, so the accounts have something to report.
    expect((await api(harness.url, "POST", "/api/chat", { message: "Status warm-up" })).status).toBe(200);
    const response = await api(harness.url, "GET", "/api/status");

    expect(response.status).toBe(200);
    const status = response.body;
    expect(status.version).toBe(VERSION);
    expect(Number.isInteger(status.uptimeSeconds)).toBe(true);
    expect(status.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(status.upstream.reachable).toBe(true);
    expect(status.status).toBe("ok");

    expect(status.accounts).toHaveLength(2);
    for (const account of status.accounts) {
      expect(account.id).toEqual(expect.any(String));
      expect(account.state).toBe("ok");
      expect(account.unavailableUntil).toBeNull();
    }
    expect(new Set(status.accounts.map((account: { id: string }) => account.id)).size).toBe(2);

    for (const account of harness.accounts) {
      for (const secret of secretsOf(account)) expect(response.text).not.toContain(secret);
    }
    expect(response.text).not.toMatch(/token"\s*:/i);
    expect(response.text).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
  });

  it("uptime grows", async () => {
    const first = (await api(harness.url, "GET", "/api/status")).body.uptimeSeconds as number;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = (await api(harness.url, "GET", "/api/status")).body.uptimeSeconds as number;
    expect(second).toBeGreaterThan(first);
  });

  it("shows a rate-limited account as rate_limited with unavailableUntil", async () => {
    const proxyDir = dirs.make();
    const limited = harness.accounts[0]!;
    const proxy = await harness.startProxy({ tokens: [limited.token], config: { dataDir: proxyDir } });
    harness.fake.setScenario({ kind: "rate-limited", hours: 3 }, { times: 1, accountId: limited.id });
    try {
      const before = Date.now();
      const turn = await api(proxy.url, "POST", "/api/chat", { message: "Hit the limit" });
      expectError(turn, 429);

      const response = await api(proxy.url, "GET", "/api/status");
      expect(response.status).toBe(200);
      expect(response.body.accounts).toHaveLength(1);
      const account = response.body.accounts[0];
      expect(account.state).toBe("rate_limited");
      const until = Date.parse(account.unavailableUntil);
      expect(new Date(until).toISOString()).toBe(account.unavailableUntil);
      // Three hours from now, give or take.
      expect(until).toBeGreaterThan(before + 3 * 3_600_000 - 5 * 60_000);
      expect(until).toBeLessThan(Date.now() + 3 * 3_600_000 + 5 * 60_000);
      expect(response.body.status).not.toBe("ok");
      for (const secret of secretsOf(limited)) expect(response.text).not.toContain(secret);

      // While parked, the account is not used: the next turn fails without calling upstream.
      const upstreamBefore = harness.fake.requests.length;
      const refused = await api(proxy.url, "POST", "/api/chat", { message: "Still limited?" });
      expect([429, 503]).toContain(refused.status);
      expect(
        harness.fake.requests
          .slice(upstreamBefore)
          .filter((entry) => entry.path === "/api/v2/chat/completions"),
      ).toHaveLength(0);
    } finally {
      harness.fake.clearScenario();
      await proxy.close();
    }
  });

  it("with two accounts, one rate-limited, the other serves and both states show", async () => {
    const [limited, healthy] = harness.accounts as [Harness["accounts"][number], Harness["accounts"][number]];
    const proxy = await harness.startProxy({
      tokens: [limited.token, healthy.token],
      config: { dataDir: dirs.make() },
    });
    harness.fake.setScenario({ kind: "rate-limited", hours: 2 }, { accountId: limited.id });
    try {
      // Whichever account is tried first, the turn ends on the healthy one.
      for (const message of ["Spread one", "Spread two"]) {
        const turn = await api(proxy.url, "POST", "/api/chat", { message });
        expect(turn.status, turn.text).toBe(200);
      }
      const status = (await api(proxy.url, "GET", "/api/status")).body;
      const states = Object.fromEntries(
        status.accounts.map((account: { id: string; state: string }) => [account.id, account.state]),
      );
      const limitedState = Object.entries(states).find(([id]) => id.includes(limited.id));
      const healthyState = Object.entries(states).find(([id]) => id.includes(healthy.id));
      expect(healthyState?.[1]).toBe("ok");
      // The limited account shows as such once it was tried (two turns make sure it was).
      expect(limitedState?.[1]).toBe("rate_limited");
      expect(status.status).toBe("ok");
    } finally {
      harness.fake.clearScenario();
      await proxy.close();
    }
  });

  it("reports an unreachable upstream instead of failing", async () => {
    const closedPort = await freePort();
    const proxy = await harness.startProxy({
      tokens: [harness.accounts[0]!.token],
      config: { dataDir: dirs.make(), qwenBaseUrl: `http://127.0.0.1:${closedPort}` },
    });
    try {
      const response = await api(proxy.url, "GET", "/api/status");
      expect(response.status).toBe(200);
      expect(response.body.upstream.reachable).toBe(false);
      expect(response.body.version).toBe(VERSION);
      expect(response.body.accounts).toHaveLength(1);
      for (const secret of secretsOf(harness.accounts[0]!)) expect(response.text).not.toContain(secret);
    } finally {
      await proxy.close();
    }
  });
});
