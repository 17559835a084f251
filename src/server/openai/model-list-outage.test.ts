import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../../../testing/proxy-harness.js";

// Upstream's model list is down (an outage, or a wall in front of it) while completions still
// work. A proxy that has seen the list once, even before a restart, keeps serving.

let harness: Harness;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "model-outage-"));
  harness = await startHarness({ config: { dataDir } });
});

afterAll(async () => {
  await harness?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("when upstream's model list is unreachable", () => {
  it("a restarted proxy serves the list it saw last time, and answers with those models", async () => {
    const before = (await harness.client().models.list()).data.map((model) => model.id);
    expect(before).toContain("qwen3.7-plus");
    await harness.server.close();

    harness.fake.setScenario(
      { kind: "http-error", status: 503, body: "upstream unavailable" },
      { route: "models" },
    );
    const restarted = await harness.startProxy({
      tokens: harness.accounts.map((account) => account.token),
      config: { dataDir },
    });
    const modelCalls = () => harness.fake.requests.filter((entry) => entry.path === "/api/models").length;
    const callsBefore = modelCalls();
    const client = restarted.client();
    expect((await client.models.list()).data.map((model) => model.id)).toEqual(before);
    const completion = await client.chat.completions.create({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "still there?" }],
    });
    expect(completion.choices[0]?.message.content).toContain("still there?");
    // It did ask upstream, once, and then stopped asking on every request.
    expect(modelCalls() - callsBefore).toBe(1);
    // The status page does not pretend: upstream's list was not reached, the saved one serves.
    const status = (await (await fetch(`${restarted.url}/api/status`)).json()) as {
      upstream: { reachable: boolean; modelsFrom: string; error?: string };
    };
    expect(status.upstream).toMatchObject({ reachable: false, modelsFrom: "saved" });
    expect(status.upstream.error).toBeTruthy();
  });

  it("a proxy that never saw the list says upstream is unreachable, not that the model is unknown", async () => {
    harness.fake.setScenario(
      { kind: "http-error", status: 503, body: "upstream unavailable" },
      { route: "models" },
    );
    const fresh = await harness.startProxy({ tokens: harness.accounts.map((account) => account.token) });
    const error = await fresh
      .client()
      .chat.completions.create({ model: "qwen3.7-plus", messages: [{ role: "user", content: "hi" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
  });
});
