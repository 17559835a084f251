import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "../../testing/fake-qwen/index.js";
import { type RunningProxy, sleep, startProxy } from "../../testing/proxy-harness.js";
import { type AccountRecord, removeAccountRecord, saveAccountRecord } from "./account-files.js";

// `accounts add|remove|enable|disable` and `login` write files; a running server follows them
// without a restart.

let fake: FakeQwen;
let proxy: RunningProxy;
let dataDir: string;

beforeAll(async () => {
  fake = await startFakeQwen({ chunkDelayMs: 0 });
  dataDir = mkdtempSync(join(tmpdir(), "fqa-reload-"));
  proxy = await startProxy(fake, { tokens: [], config: { dataDir, accountsReloadMs: 50 } });
});

afterAll(async () => {
  await proxy?.close();
  await fake?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function accountIds(): Promise<string[]> {
  const status = (await (await fetch(`${proxy.url}/api/status`)).json()) as {
    accounts: Array<{ id: string }>;
  };
  return status.accounts.map((account) => account.id);
}

async function waitForAccounts(wanted: string[]): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (JSON.stringify(await accountIds()) !== JSON.stringify(wanted)) {
    if (Date.now() > deadline) throw new Error(`accounts never became ${wanted.join(", ") || "none"}`);
    await sleep(20);
  }
}

const ask = () =>
  proxy.client().chat.completions.create({
    model: "qwen3.7-plus",
    messages: [{ role: "user", content: "are you there?" }],
  });

/** An account of the fake, saved as `accounts add` would, and seen by the running server. */
async function saveNewAccount(label: string): Promise<AccountRecord> {
  const account = fake.addAccount();
  const now = new Date().toISOString();
  const record: AccountRecord = {
    id: `acct_${account.id}`,
    label,
    source: "cli",
    token: account.token,
    createdAt: now,
    updatedAt: now,
  };
  saveAccountRecord(dataDir, record);
  // The tests run one at a time, each leaving no account behind: this one is then the only one.
  await waitForAccounts([record.id]);
  return record;
}

describe("saved accounts in a running server", () => {
  it("an account saved while it runs starts serving, a disabled one stops, an enabled one returns", async () => {
    const refused = await ask().catch((caught: unknown) => caught);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(503);

    const record = await saveNewAccount("added later");
    expect((await ask()).choices[0]?.message.content).toContain("are you there?");

    saveAccountRecord(dataDir, { ...record, disabled: true });
    await waitForAccounts([]);
    const disabled = await ask().catch((caught: unknown) => caught);
    expect((disabled as InstanceType<typeof OpenAI.APIError>).status).toBe(503);

    saveAccountRecord(dataDir, { ...record, disabled: false });
    await waitForAccounts([record.id]);
    expect((await ask()).choices[0]?.message.content).toContain("are you there?");
  });

  it("a new token in the file is used at once; a removed account leaves", async () => {
    const [id] = await accountIds();
    const accountId = id!.replace(/^acct_/, "");
    const fresh = fake.issueToken(accountId);
    const now = new Date().toISOString();
    saveAccountRecord(dataDir, {
      id: id!,
      label: "renewed",
      source: "browser",
      token: fresh,
      createdAt: now,
      updatedAt: now,
    });
    const deadline = Date.now() + 5_000;
    for (;;) {
      fake.clearRequests();
      await ask();
      const used = fake.requests.find((entry) => entry.path === "/api/v2/chat/completions");
      if (used?.headers.authorization === `Bearer ${fresh}`) break;
      if (Date.now() > deadline) throw new Error("the new token was never used");
      await sleep(20);
    }
    removeAccountRecord(dataDir, id!);
    await waitForAccounts([]);
  });

  it("a file caught half-written does not take the account away; disable and enable keep its rate limit", async () => {
    const record = await saveNewAccount("steady");
    const file = join(dataDir, "accounts", record.id, "account.json");
    const saved = readFileSync(file, "utf8");
    writeFileSync(file, '{"id": "');
    await sleep(300);
    expect(await accountIds()).toEqual([record.id]);
    writeFileSync(file, saved);

    fake.setScenario({ kind: "rate-limited", hours: 2 }, { times: 1 });
    const limited = await ask().catch((caught: unknown) => caught);
    expect((limited as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    saveAccountRecord(dataDir, { ...record, disabled: true });
    await waitForAccounts([]);
    saveAccountRecord(dataDir, { ...record, disabled: false });
    await waitForAccounts([record.id]);
    const status = (await (await fetch(`${proxy.url}/api/status`)).json()) as {
      accounts: Array<{ state: string }>;
    };
    expect(status.accounts[0]?.state).toBe("rate_limited");
  });
});
