import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../../../testing/proxy-harness.js";

// One account, as most users have: a passing upstream fault is tried once more on it after a
// short pause (what the sources do with "Internal error"), and only once.

let harness: Harness;
let client: OpenAI;

beforeAll(async () => {
  harness = await startHarness({ accounts: 1 });
  client = harness.client();
});

afterEach(() => harness.fake.clearScenario());

afterAll(async () => {
  await harness?.close();
});

const ask = (content: string) =>
  client.chat.completions.create({ model: "qwen3.7-plus", messages: [{ role: "user", content }] });

describe("a transient upstream fault with a single account", () => {
  it("an 'Internal error' once: the answer still comes, from a second upstream attempt", async () => {
    const before = harness.completionRequests().length;
    harness.fake.setScenario({ kind: "internal-error" }, { times: 1 });
    const completion = await ask("try again please");
    expect(completion.choices[0]?.message.content).toContain("You said: «try again please»");
    expect(harness.completionRequests().length - before).toBe(2);
  });

  it("a 5xx on chat creation once: the answer still comes", async () => {
    harness.fake.setScenario(
      { kind: "http-error", status: 502, body: "Bad gateway" },
      { times: 1, route: "new-chat" },
    );
    const completion = await ask("after a bad gateway");
    expect(completion.choices[0]?.message.content).toContain("You said: «after a bad gateway»");
  });

  it("the same fault twice is an error: one retry, not a loop", async () => {
    const before = harness.completionRequests().length;
    harness.fake.setScenario({ kind: "internal-error" }, { times: 2 });
    const error = await ask("twice").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(harness.completionRequests().length - before).toBe(2);
  });

  it("an account fault (rate limit) is not retried on the same account", async () => {
    const before = harness.completionRequests().length;
    harness.fake.setScenario({ kind: "rate-limited", hours: 1 }, { times: 1 });
    const error = await ask("limited").catch((caught: unknown) => caught);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    expect(harness.completionRequests().length - before).toBe(1);
  });
});
