import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "../../testing/fake-qwen/index.js";
import { type RunningProxy, startProxy } from "../../testing/proxy-harness.js";
import { saveAccountRecord } from "./account-files.js";

// Cookies pasted from a browser go with every upstream request of their account, and the
// cookies upstream sets are sent back, as a browser would.

let fake: FakeQwen;
let proxy: RunningProxy;
let dataDir: string;

beforeAll(async () => {
  fake = await startFakeQwen({ chunkDelayMs: 0 });
  const account = fake.addAccount();
  dataDir = mkdtempSync(join(tmpdir(), "fqa-cookies-"));
  const now = new Date().toISOString();
  saveAccountRecord(dataDir, {
    id: `acct_${account.id}`,
    label: "pasted",
    source: "cli",
    token: account.token,
    cookies: { cna: "pasted-cna", ssxmod_itna: "fingerprint" },
    createdAt: now,
    updatedAt: now,
  });
  proxy = await startProxy(fake, { tokens: [], config: { dataDir } });
});

afterAll(async () => {
  await proxy?.close();
  await fake?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("an account's cookies", () => {
  it("go upstream with the token, and what upstream set comes back on the next request", async () => {
    fake.clearRequests();
    const client = proxy.client();
    for (const content of ["one", "two"]) {
      const answer = await client.chat.completions.create({
        model: "qwen3.7-plus",
        messages: [{ role: "user", content }],
      });
      expect(answer.choices[0]?.message.content).toContain(`You said: «${content}»`);
    }
    const upstream = fake.requests.filter((entry) => entry.path.startsWith("/api/"));
    expect(upstream.length).toBeGreaterThan(2);
    for (const entry of upstream) {
      expect(entry.headers.cookie).toContain("cna=pasted-cna");
      expect(entry.headers.cookie).toContain("ssxmod_itna=fingerprint");
      expect(entry.headers.cookie).toMatch(/(^|; )token=/);
    }
    // The gateway's acw_tc, set on the first answer, is sent back from then on.
    expect(upstream[0]?.headers.cookie).not.toContain("acw_tc=");
    expect(upstream.at(-1)?.headers.cookie).toMatch(/acw_tc=[0-9a-f]{32}/);
  });
});
