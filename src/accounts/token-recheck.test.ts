import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, sleep, startHarness } from "../../testing/proxy-harness.js";

// Upstream has refused valid tokens now and then (from some regions, at some moments). One
// refusal must not retire an account whose token still signs in.

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ accounts: 1 });
});

afterAll(async () => {
  await harness?.close();
});

async function accountState(): Promise<string | undefined> {
  const status = (await (await fetch(`${harness.url}/api/status`)).json()) as {
    accounts: Array<{ state: string }>;
  };
  return status.accounts[0]?.state;
}

async function waitForState(wanted: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await accountState()) !== wanted) {
    if (Date.now() > deadline) throw new Error(`account never became ${wanted}`);
    await sleep(20);
  }
}

describe("a token refused once", () => {
  it("is checked with GET /api/v1/auths/ and the account serves again when it is still good", async () => {
    const client = harness.client();
    harness.fake.setScenario(
      { kind: "http-error", status: 401, body: '{"detail":"Unauthorized"}' },
      { times: 1 },
    );
    const refused = await client.chat.completions
      .create({ model: "qwen3.7-plus", messages: [{ role: "user", content: "first" }] })
      .catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    await waitForState("ok");
    expect(harness.fake.requests.some((entry) => entry.path === "/api/v1/auths/")).toBe(true);
    const answer = await client.chat.completions.create({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "second" }],
    });
    expect(answer.choices[0]?.message.content).toContain("You said: «second»");
  });

  it("stays expired when the token really is revoked", async () => {
    harness.fake.revokeToken(harness.accounts[0]!.token);
    const refused = await harness
      .client()
      .chat.completions.create({ model: "qwen3.7-plus", messages: [{ role: "user", content: "third" }] })
      .catch((caught: unknown) => caught);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    await sleep(200);
    expect(await accountState()).toBe("expired");
  });
});
