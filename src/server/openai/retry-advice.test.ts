import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Harness, type RunningProxy, startHarness } from "../../../testing/proxy-harness.js";

// The retry advice in the headers of a failed answer. The OpenAI SDKs retry 429 and 5xx at
// once when Retry-After is over a minute (they ignore such long waits), unless
// `x-should-retry: false` says not to: where a retry cannot help, the proxy must say so.

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});

afterEach(() => {
  harness.fake.clearScenario();
});

afterAll(async () => {
  await harness?.close();
});

const HELLO = { model: "qwen3.7-plus", messages: [{ role: "user", content: "Hello" }] };

/** A proxy of its own whose only upstream account is a fresh one, so parking it harms nothing. */
async function isolatedProxy(): Promise<{ proxy: RunningProxy; accountId: string }> {
  const account = harness.fake.addAccount();
  const proxy = await harness.startProxy({ tokens: [account.token] });
  return { proxy, accountId: account.id };
}

async function postHello(proxy: RunningProxy, extra: Record<string, unknown> = {}) {
  const response = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer x" },
    body: JSON.stringify({ ...HELLO, ...extra }),
  });
  const json = (await response.json()) as { error?: { code: string; type: string } };
  return { status: response.status, headers: response.headers, json };
}

describe("x-should-retry and retry-after on failures", () => {
  it("a WAF challenge is a 503 with x-should-retry: false (a person must solve it)", async () => {
    const { proxy, accountId } = await isolatedProxy();
    harness.fake.setScenario({ kind: "waf" }, { accountId });
    const answer = await postHello(proxy);
    expect(answer.status).toBe(503);
    expect(answer.json.error?.code).toBe("upstream_verification_required");
    expect(answer.headers.get("x-should-retry")).toBe("false");

    // The account now waits for a login: the next request is told not to retry either.
    const parked = await postHello(proxy);
    expect(parked.status).toBe(503);
    expect(parked.headers.get("x-should-retry")).toBe("false");
    expect(Number(parked.headers.get("retry-after"))).toBeGreaterThan(60);
  });

  it("a WAF challenge on a stream is the same 503 before any SSE", async () => {
    const { proxy, accountId } = await isolatedProxy();
    harness.fake.setScenario({ kind: "waf" }, { accountId });
    const answer = await postHello(proxy, { stream: true });
    expect(answer.status).toBe(503);
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
    expect(answer.headers.get("x-should-retry")).toBe("false");
    expect(answer.json.error?.code).toBe("upstream_verification_required");
  });

  it("rate-limited for hours on the only account: 429, retry-after over a minute, x-should-retry: false", async () => {
    const { proxy, accountId } = await isolatedProxy();
    harness.fake.setScenario({ kind: "rate-limited", hours: 3 }, { accountId });
    const answer = await postHello(proxy);
    expect(answer.status).toBe(429);
    expect(answer.json.error?.code).toBe("rate_limit_exceeded");
    const retryAfter = Number(answer.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(60);
    expect(retryAfter).toBeLessThanOrEqual(3 * 3600);
    expect(answer.headers.get("x-should-retry")).toBe("false");
  });

  it("the parked account's next request is told the same, without asking upstream again", async () => {
    const { proxy, accountId } = await isolatedProxy();
    harness.fake.setScenario({ kind: "rate-limited", hours: 3 }, { accountId });
    expect((await postHello(proxy)).status).toBe(429);
    harness.fake.clearScenario();
    const before = harness.completionRequests().length;

    const parked = await postHello(proxy);
    expect([429, 503]).toContain(parked.status);
    expect(Number(parked.headers.get("retry-after"))).toBeGreaterThan(60);
    expect(parked.headers.get("x-should-retry")).toBe("false");
    expect(harness.completionRequests().length).toBe(before);
  });

  it("a short rate limit (under a minute) leaves the retry to the client", async () => {
    const { proxy, accountId } = await isolatedProxy();
    // 0.005 h = 18 s: worth a retry after Retry-After.
    harness.fake.setScenario({ kind: "rate-limited", hours: 0.005 }, { accountId });
    const answer = await postHello(proxy);
    expect(answer.status).toBe(429);
    const retryAfter = Number(answer.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(answer.headers.get("x-should-retry")).not.toBe("false");
  });

  it("the SDK, retries on, asks once after a WAF challenge or a long rate limit", async () => {
    for (const scenario of [{ kind: "waf" }, { kind: "rate-limited", hours: 3 }] as const) {
      const { proxy, accountId } = await isolatedProxy();
      harness.fake.setScenario(scenario, { accountId });
      let calls = 0;
      const client = proxy.client({
        maxRetries: 3,
        fetch: (input, init) => {
          calls += 1;
          return fetch(input, init);
        },
      });
      const error = await client.chat.completions
        .create({ model: "qwen3.7-plus", messages: [{ role: "user", content: "Hello" }] })
        .catch((caught: unknown) => caught);
      expect(error, scenario.kind).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(
        scenario.kind === "waf" ? 503 : 429,
      );
      // Without x-should-retry: false the SDK would have come back three times at once.
      expect(calls, scenario.kind).toBe(1);
      const upstream = harness.completionRequests().filter((entry) => entry.accountId === accountId);
      expect(upstream, scenario.kind).toHaveLength(1);
    }
  });
});
