import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spaHeaders } from "../../testing/fake-qwen/test-support.js";
import type { RequestLogEntry } from "../../testing/fake-qwen/types.js";
import { api, chatTurn, type Json, parseReply } from "../../testing/native-harness.js";
import {
  type Harness,
  type HarnessAccount,
  type ProxyOptions,
  type RunningProxy,
  sleep,
  startHarness,
  upstreamMessages,
  upstreamMessageText,
} from "../../testing/proxy-harness.js";
import { startUpstreamTap, type TappedExchange, type UpstreamTap } from "../../testing/upstream-tap.js";
import type { ConfigInput } from "../config/config.js";

// Three upstream accounts behind one proxy, over real HTTP. What the scheduler promises is
// checked where it shows: in the fake upstream's own log (who asked, when, for which chat),
// in the fake's chats (which completions really produced an answer) and, for how long an
// answer was still streaming, on the wire between the two (testing/upstream-tap.ts).

const COMPLETIONS = "/api/v2/chat/completions";
const NEW_CHAT = "/api/v2/chats/new";
const MODEL = "qwen3.7-plus";

let harness: Harness;
let accounts: HarnessAccount[];
const tempDirs: string[] = [];

beforeAll(async () => {
  harness = await startHarness({ accounts: 3 });
  accounts = harness.accounts;
});

afterEach(() => {
  harness.fake.clearScenario();
});

afterAll(async () => {
  await harness?.close();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A proxy of its own over the three accounts: a fresh scheduler, so the test owns its state. */
function freshProxy(config: Partial<ConfigInput> = {}, options: ProxyOptions = {}): Promise<RunningProxy> {
  return harness.startProxy({ tokens: accounts.map((account) => account.token), ...options, config });
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "accounts-e2e-"));
  tempDirs.push(dir);
  return dir;
}

/** The fake's log from now on. */
function logFrom(): () => RequestLogEntry[] {
  const start = harness.fake.requests.length;
  return () => harness.fake.requests.slice(start);
}

function nameOf(accountId: string | null): string {
  const index = accounts.findIndex((account) => account.id === accountId);
  return index < 0 ? `unknown(${accountId})` : "ABC"[index]!;
}

interface Answer {
  marker: string;
  status: number;
  headers: Headers;
  body: Json;
  content: string;
}

/** One OpenAI-style request with a single, unique user message (so it starts a chat of its own). */
async function ask(proxy: RunningProxy, marker: string): Promise<Answer> {
  const response = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: marker }] }),
  });
  const body = (await response.json()) as Json;
  return {
    marker,
    status: response.status,
    headers: response.headers,
    body,
    content: body?.choices?.[0]?.message?.content ?? "",
  };
}

function markers(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix} request #${index + 1}.`);
}

/** The upstream completions that carried this message. */
function completionsOf(log: RequestLogEntry[], marker: string): RequestLogEntry[] {
  return log.filter((entry) => entry.path === COMPLETIONS && upstreamMessageText(entry).includes(marker));
}

/** True when the fake holds a finished answer in the upstream chat this completion went to. */
async function producedAnswer(entry: RequestLogEntry): Promise<boolean> {
  const owner = accounts.find((account) => account.id === entry.accountId);
  if (!owner) return false;
  const response = await fetch(`${harness.fake.url}/api/v2/chats/${entry.query.chat_id}`, {
    headers: spaHeaders(owner.token),
  });
  const json = (await response.json()) as Json;
  const messages: Array<{ role: string; content: string }> = json?.data?.chat?.messages ?? [];
  return messages.some((message) => message.role === "assistant" && message.content.endsWith("你好"));
}

/**
 * Every client request got one answer, and the answers that succeeded each came from exactly
 * one successful upstream completion (retries before it are allowed, a second success is not).
 */
async function expectExactlyOnce(answers: Answer[], log: RequestLogEntry[]): Promise<void> {
  const completions = log.filter((entry) => entry.path === COMPLETIONS);
  const produced = await Promise.all(completions.map(producedAnswer));
  const successful = new Set(completions.filter((_, index) => produced[index]));
  for (const answer of answers) {
    const succeeded = completionsOf(log, answer.marker).filter((entry) => successful.has(entry));
    if (answer.status === 200) {
      expect(answer.content, answer.marker).toContain(`You said: «${answer.marker}»`);
      expect(succeeded, `successful upstream completions of ${answer.marker}`).toHaveLength(1);
    } else {
      expect(succeeded, `an unsuccessful answer ran upstream: ${answer.marker}`).toHaveLength(0);
    }
  }
  // And nothing ran upstream that no client asked for.
  const asked = new Set(answers.map((answer) => answer.marker));
  for (const entry of completions) {
    const text = upstreamMessageText(entry);
    expect(
      [...asked].some((marker) => text.includes(marker)),
      text,
    ).toBe(true);
  }
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

async function status(proxy: RunningProxy): Promise<Array<{ id: string; state: string } & Json>> {
  const response = await api(proxy.url, "GET", "/api/status");
  return response.body.accounts;
}

async function stateOf(proxy: RunningProxy, account: HarnessAccount) {
  const found = (await status(proxy)).find((candidate) => candidate.id === `acct_${account.id}`);
  if (!found) throw new Error(`account ${nameOf(account.id)} is not in /api/status`);
  return found;
}

describe("rotation", () => {
  it("spreads requests one after another evenly over the three accounts", async () => {
    const proxy = await freshProxy();
    const log = logFrom();
    const answers = [];
    for (const marker of markers("Sequential", 15)) answers.push(await ask(proxy, marker));
    const used = log()
      .filter((entry) => entry.path === COMPLETIONS)
      .map((entry) => nameOf(entry.accountId));
    expect(countBy(used, (name) => name)).toEqual({ A: 5, B: 5, C: 5 });
    // Least recently used: never the same account twice in a row.
    for (let index = 1; index < used.length; index++) expect(used[index]).not.toBe(used[index - 1]);
    await expectExactlyOnce(answers, log());
  });
});

describe("50 parallel requests", () => {
  let tap: UpstreamTap;

  beforeAll(async () => {
    tap = await startUpstreamTap(harness.fake.url);
  });

  afterAll(async () => {
    await tap?.close();
  });

  /** The fake's log joined with the tap's record of the same exchange. */
  function joined(log: RequestLogEntry[]) {
    const byId = new Map(tap.exchanges.map((exchange) => [String(exchange.id), exchange]));
    return log
      .filter((entry) => entry.path === COMPLETIONS || entry.path === NEW_CHAT)
      .map((entry) => {
        const exchange = byId.get(entry.headers["x-tap-id"] ?? "");
        if (!exchange?.lastByteAt) throw new Error(`${entry.path} did not go through the tap`);
        return { entry, exchange: exchange as Required<TappedExchange> };
      });
  }

  function perAccount<T extends { entry: RequestLogEntry }>(items: T[]): T[][] {
    return accounts.map((account) => items.filter((item) => item.entry.accountId === account.id));
  }

  /** Most exchanges in flight at once, from `startedAt` until their last byte. */
  function peakInFlight(exchanges: Array<Required<TappedExchange>>): number {
    const edges = exchanges.flatMap((exchange) => [
      { at: exchange.startedAt, step: 1 },
      { at: exchange.lastByteAt, step: -1 },
    ]);
    // An end and a start in the same millisecond: the end came first (see the tap).
    edges.sort((left, right) => left.at - right.at || left.step - right.step);
    let current = 0;
    let peak = 0;
    for (const edge of edges) {
      current += edge.step;
      peak = Math.max(peak, current);
    }
    return peak;
  }

  /**
   * When the scheduler started each request on an account, by its own clock (`lastUsedAt` is
   * set as it hands the account out): the fake's log times come later by however long the
   * request took to get there, which a busy machine stretches.
   */
  function recordStarts(proxy: RunningProxy): Map<string, number[]> {
    const pool = proxy.server.context.accounts;
    const acquire = pool.acquire.bind(pool);
    const starts = new Map<string, number[]>();
    pool.acquire = async (options) => {
      const account = await acquire(options);
      starts.set(account.id, [...(starts.get(account.id) ?? []), account.lastUsedAt]);
      return account;
    };
    return starts;
  }

  /**
   * Starts on one account are at least the gap apart: exactly so in the scheduler's record;
   * in the fake's log over the whole run, where lateness of single entries does not add up.
   */
  function expectPaced(scheduled: number[] | undefined, logged: number[], gapMs: number, name: string): void {
    expect(scheduled?.length, `starts on ${name}`).toBe(logged.length);
    for (let next = 1; next < logged.length; next++) {
      expect(scheduled![next]! - scheduled![next - 1]!, `gap on ${name}`).toBeGreaterThanOrEqual(gapMs);
    }
    const span = logged.at(-1)! - logged[0]!;
    expect(span, `span of ${logged.length} starts on ${name}`).toBeGreaterThanOrEqual(
      (logged.length - 2) * gapMs,
    );
  }

  function chatCreationTimes(mine: Array<{ entry: RequestLogEntry }>): number[] {
    return mine
      .filter((call) => call.entry.path === NEW_CHAT)
      .map((call) => call.entry.time)
      .sort((left, right) => left - right);
  }

  it("concurrency 1: one upstream call in flight per account, starts at least the gap apart", async () => {
    const gapMs = 20;
    const proxy = await freshProxy({
      qwenBaseUrl: tap.url,
      accountConcurrency: 1,
      accountMinGapMs: gapMs,
      accountGapJitterMs: 5,
    });
    const scheduled = recordStarts(proxy);
    // Slow answers: each lasts longer than the gap, so only the concurrency limit prevents overlap.
    harness.fake.setScenario({ kind: "slow-chunks", delayMs: 1 });
    const log = logFrom();
    const answers = await Promise.all(markers("Parallel-1", 50).map((marker) => ask(proxy, marker)));
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200));
    for (const answer of answers) expect(parseReply(answer.content).turn).toBe(1);

    const calls = joined(log());
    const completions = calls.filter((call) => call.entry.path === COMPLETIONS);
    const durations = completions.map((call) => call.exchange.lastByteAt - call.exchange.startedAt);
    expect(durations.sort((left, right) => left - right)[25]).toBeGreaterThan(gapMs);

    for (const [index, mine] of perAccount(calls).entries()) {
      const name = "ABC"[index]!;
      expect(mine.length, `calls on ${name}`).toBeGreaterThanOrEqual(2 * 10);
      // Chat creation and completion of one request, then the next request: never two at once.
      expect(peakInFlight(mine.map((call) => call.exchange)), `in flight on ${name}`).toBe(1);
      expectPaced(scheduled.get(`acct_${accounts[index]!.id}`), chatCreationTimes(mine), gapMs, name);
    }
    await expectExactlyOnce(answers, log());
  });

  it("concurrency 3: up to three in flight per account, and still paced by the gap", async () => {
    const gapMs = 30;
    const proxy = await freshProxy({
      qwenBaseUrl: tap.url,
      accountConcurrency: 3,
      accountMinGapMs: gapMs,
      accountGapJitterMs: 0,
    });
    const scheduled = recordStarts(proxy);
    // Answers last about three gaps: the limit of three, not the gap, is what binds.
    harness.fake.setScenario({ kind: "slow-chunks", delayMs: 2 });
    const log = logFrom();
    const answers = await Promise.all(markers("Parallel-3", 50).map((marker) => ask(proxy, marker)));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);

    const calls = joined(log());
    for (const [index, mine] of perAccount(calls).entries()) {
      const name = "ABC"[index]!;
      const completions = mine.filter((call) => call.entry.path === COMPLETIONS);
      expect(completions.length, `completions on ${name}`).toBeGreaterThanOrEqual(10);
      const peak = peakInFlight(completions.map((call) => call.exchange));
      expect(peak, `completions in flight on ${name}`).toBeLessThanOrEqual(3);
      expect(peak, `completions in flight on ${name}`).toBeGreaterThanOrEqual(2);
      expectPaced(scheduled.get(`acct_${accounts[index]!.id}`), chatCreationTimes(mine), gapMs, name);
    }
    await expectExactlyOnce(answers, log());
  });

  it("an account that fails in the middle of a burst loses no request and runs none twice", async () => {
    const proxy = await freshProxy({ accountConcurrency: 1 });
    const [, limited] = accounts as [HarnessAccount, HarnessAccount, HarnessAccount];
    harness.fake.setScenario({ kind: "rate-limited", hours: 1 }, { accountId: limited.id });
    const log = logFrom();
    const answers = await Promise.all(markers("Burst", 30).map((marker) => ask(proxy, marker)));
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200));

    const completions = log().filter((entry) => entry.path === COMPLETIONS);
    // B was tried once, refused, and parked: the other two answered everything.
    expect(completions.filter((entry) => entry.accountId === limited.id)).toHaveLength(1);
    expect(completions).toHaveLength(31);
    expect((await stateOf(proxy, limited)).state).toBe("rate_limited");
    await expectExactlyOnce(answers, log());
  });
});

describe("rate limits", () => {
  it("a rate-limited account is skipped until its time, then serves again", async () => {
    const proxy = await freshProxy();
    const limited = accounts[1]!;
    // 0.0003 h: upstream names the wait in hours; 1.08 s here.
    harness.fake.setScenario({ kind: "rate-limited", hours: 0.0003 }, { accountId: limited.id });
    const log = logFrom();
    const answers: Answer[] = [];
    for (const marker of markers("Before the limit", 3)) answers.push(await ask(proxy, marker));
    const hitAt = log().find((entry) => entry.accountId === limited.id && entry.path === COMPLETIONS)?.time;
    expect(hitAt).toBeDefined();
    const parked = await stateOf(proxy, limited);
    expect(parked.state).toBe("rate_limited");
    const until = Date.parse(parked.unavailableUntil);
    expect(until - hitAt!).toBeGreaterThanOrEqual(1_080);
    expect(until - hitAt!).toBeLessThan(1_500);

    const during = logFrom();
    do {
      answers.push(await ask(proxy, `During the limit ${answers.length}.`));
    } while (Date.now() < until - 150);
    expect(during().filter((entry) => entry.path === COMPLETIONS).length).toBeGreaterThanOrEqual(1);
    expect(during().filter((entry) => entry.accountId === limited.id)).toEqual([]);

    harness.fake.clearScenario();
    await sleep(until - Date.now() + 20);
    const after = logFrom();
    for (const marker of markers("After the limit", 3)) answers.push(await ask(proxy, marker));
    expect(
      after().filter((entry) => entry.path === COMPLETIONS && entry.accountId === limited.id),
    ).toHaveLength(1);
    expect((await stateOf(proxy, limited)).state).toBe("ok");
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    await expectExactlyOnce(answers, log());
  });

  it("a rate limit survives a restart: still rate_limited and still given no requests", async () => {
    const dataDir = tempDir();
    const limited = accounts[0]!;
    let proxy = await freshProxy({ dataDir });
    harness.fake.setScenario({ kind: "rate-limited", hours: 2 }, { accountId: limited.id });
    const log = logFrom();
    for (const marker of markers("Before the restart", 3))
      expect((await ask(proxy, marker)).status).toBe(200);
    expect(
      log().filter((entry) => entry.path === COMPLETIONS && entry.accountId === limited.id),
    ).toHaveLength(1);
    const before = await stateOf(proxy, limited);
    expect(before.state).toBe("rate_limited");
    expect(Date.parse(before.unavailableUntil) - Date.now()).toBeGreaterThan(2 * 3_600_000 - 60_000);
    await proxy.close();
    expect(existsSync(join(dataDir, "account-state.json"))).toBe(true);

    // Upstream would serve A again now: only the saved state keeps the proxy away from it.
    harness.fake.clearScenario();
    const afterRestart = logFrom();
    proxy = await freshProxy({ dataDir });
    const after = await stateOf(proxy, limited);
    expect(after.state).toBe("rate_limited");
    expect(after.unavailableUntil).toBe(before.unavailableUntil);
    const answers = [];
    for (const marker of markers("After the restart", 6)) answers.push(await ask(proxy, marker));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(afterRestart().filter((entry) => entry.path === COMPLETIONS)).toHaveLength(6);
    expect(afterRestart().filter((entry) => entry.accountId === limited.id)).toEqual([]);
    await proxy.close();
  });
});

describe("failures that move work to another account", () => {
  it("a revoked token: the request is answered by another account, and the account is dropped", async () => {
    // A token of C's own for this test: the fake revokes it for good.
    const revoked = { ...accounts[2]!, token: harness.fake.issueToken(accounts[2]!.id) };
    // Direct transport: no browser is started to try and renew the session.
    const proxy = await freshProxy(
      { transport: "direct" },
      { tokens: [accounts[0]!.token, accounts[1]!.token, revoked.token] },
    );
    harness.fake.setScenario({ kind: "token-revoked" }, { accountId: revoked.id, times: 1 });
    const log = logFrom();
    const answers = [];
    for (const marker of markers("Revoked", 9)) answers.push(await ask(proxy, marker));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect((await stateOf(proxy, revoked)).state).toBe("expired");

    const withToken = log().filter(
      (entry) =>
        entry.headers.authorization === `Bearer ${revoked.token}` &&
        (entry.path === NEW_CHAT || entry.path === COMPLETIONS),
    );
    // The chat creation got through, the completion met the 401; no work went there after.
    expect(withToken.map((entry) => entry.path)).toEqual([NEW_CHAT, COMPLETIONS]);
    const refused = withToken[1]!;
    const moved = completionsOf(log(), upstreamMessageText(refused));
    expect(moved.map((entry) => nameOf(entry.accountId))).toEqual(["C", expect.stringMatching(/^[AB]$/)]);
    await expectExactlyOnce(answers, log());
  });

  it("input moderation: one retry on another account, which answers", async () => {
    const proxy = await freshProxy();
    const [first, second, third] = accounts as [HarnessAccount, HarnessAccount, HarnessAccount];
    // The other two accounts are busy: the refusing account is the only free one, and still
    // the retry waits for another.
    const pool = proxy.server.context.accounts;
    const busy = [
      await pool.acquire({ prefer: `acct_${second.id}` }),
      await pool.acquire({ prefer: `acct_${third.id}` }),
    ];
    harness.fake.setScenario({ kind: "moderation", where: "input" }, { accountId: first.id, times: 1 });
    const log = logFrom();
    const pending = ask(proxy, "Moderated once.");
    await sleep(100);
    pool.release(busy[0]!);
    const answer = await pending;
    pool.release(busy[1]!);
    expect(answer.status).toBe(200);
    const tries = completionsOf(log(), "Moderated once.");
    expect(tries.map((entry) => nameOf(entry.accountId))).toEqual(["A", "B"]);
    // A content filter says nothing about the account's health.
    expect((await status(proxy)).map((account) => account.state)).toEqual(["ok", "ok", "ok"]);
    await expectExactlyOnce([answer], log());
  });

  it("the quota error: one retry on another account, and the exhausted account is parked", async () => {
    const proxy = await freshProxy();
    harness.fake.setScenario({ kind: "quota" }, { times: 1 });
    const log = logFrom();
    const answer = await ask(proxy, "Over quota once.");
    expect(answer.status).toBe(200);
    const tries = completionsOf(log(), "Over quota once.");
    expect(tries).toHaveLength(2);
    expect(tries[0]!.accountId).not.toBe(tries[1]!.accountId);
    const exhausted = accounts.find((account) => account.id === tries[0]!.accountId)!;
    expect((await stateOf(proxy, exhausted)).state).toBe("rate_limited");
    await expectExactlyOnce([answer], log());
  });

  it("a failure after the answer began is reported, not run again on another account", async () => {
    const proxy = await freshProxy();
    harness.fake.setScenario({ kind: "drop-mid-answer", afterDeltas: 3 }, { times: 1 });
    const log = logFrom();
    const answer = await ask(proxy, "Cut off halfway.");
    expect(answer.status).toBeGreaterThanOrEqual(500);
    expect(completionsOf(log(), "Cut off halfway.")).toHaveLength(1);
    await expectExactlyOnce([answer], log());
  });

  it("content every account refuses: one retry, a 400, and the accounts stay in service", async () => {
    const proxy = await freshProxy();
    harness.fake.setScenario({ kind: "moderation", where: "input" });
    const log = logFrom();
    for (const marker of markers("Always moderated", 4)) {
      const answer = await ask(proxy, marker);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe("content_filter");
      const tries = completionsOf(log(), marker);
      expect(tries).toHaveLength(2);
      expect(tries[0]!.accountId).not.toBe(tries[1]!.accountId);
    }
    harness.fake.clearScenario();
    // One user's refused prompts must not take the accounts away from everyone else.
    expect((await status(proxy)).map((account) => account.state)).toEqual(["ok", "ok", "ok"]);
    expect((await ask(proxy, "Something harmless.")).status).toBe(200);
  });
});

describe("the queue", () => {
  it("a request that waits past the queue's timeout gets 503 with Retry-After, and never runs", async () => {
    const proxy = await freshProxy({ accountConcurrency: 1, queueTimeoutMs: 250 });
    harness.fake.setScenario({ kind: "slow-chunks", delayMs: 20 });
    const log = logFrom();
    const answers = await Promise.all(markers("Queued", 9).map((marker) => ask(proxy, marker)));
    harness.fake.clearScenario();

    const served = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status !== 200);
    expect(served.length).toBeGreaterThanOrEqual(3);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const answer of refused) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get("retry-after")).toBe("1");
      expect(answer.body.error.code).toBe("no_account_available");
      expect(completionsOf(log(), answer.marker)).toEqual([]);
    }
    await expectExactlyOnce(answers, log());
  });

  it("a full queue refuses at once with 503 and Retry-After", async () => {
    const proxy = await freshProxy({ accountConcurrency: 1, queueLimit: 1 });
    harness.fake.setScenario({ kind: "slow-chunks", delayMs: 8 });
    const log = logFrom();
    const answers = await Promise.all(markers("Overflow", 6).map((marker) => ask(proxy, marker)));
    harness.fake.clearScenario();
    // Three run, one waits; the other two are turned away without waiting.
    const refused = answers.filter((answer) => answer.status === 503);
    expect(refused).toHaveLength(2);
    for (const answer of refused) expect(answer.headers.get("retry-after")).toBe("5");
    await expectExactlyOnce(answers, log());
  });
});

describe("chats and the accounts that hold them", () => {
  it("a chat whose account becomes rate-limited is folded onto another account and rebound", async () => {
    const proxy = await freshProxy();
    const log = logFrom();
    const first = await chatTurn(proxy.url, { message: "The secret word is tangerine." });
    const chatId = first.chatId;
    expect(parseReply(first.content).turn).toBe(1);
    const home = completionsOf(log(), "The secret word is tangerine.")[0]!;
    const homeAccount = accounts.find((account) => account.id === home.accountId)!;

    // Other traffic moves the rotation on (the chat's account is no longer the least recently
    // used); the chat still continues on its own account.
    for (const marker of markers("Unrelated", 3)) await ask(proxy, marker);
    const second = await chatTurn(proxy.url, { chatId, message: "And the number is 42." });
    expect(parseReply(second.content)).toMatchObject({
      turn: 2,
      upstreamChat: home.query.chat_id!.slice(0, 8),
    });
    expect(completionsOf(log(), "And the number is 42.")[0]!.accountId).toBe(homeAccount.id);

    harness.fake.setScenario({ kind: "rate-limited", hours: 1 }, { accountId: homeAccount.id });
    const third = await chatTurn(proxy.url, { chatId, message: "What were the word and the number?" });
    const [refused, folded] = completionsOf(log(), "What were the word and the number?");
    expect(refused!.accountId).toBe(homeAccount.id);
    expect(upstreamMessages(refused!)[0]!.parent_id).not.toBeNull();
    expect(folded!.accountId).not.toBe(homeAccount.id);
    // A new upstream chat on the new account, told the whole story in one message.
    expect(parseReply(third.content)).toMatchObject({
      turn: 1,
      upstreamChat: folded!.query.chat_id!.slice(0, 8),
    });
    const foldedText = upstreamMessageText(folded!);
    expect(foldedText).toContain("The secret word is tangerine.");
    expect(foldedText).toContain("And the number is 42.");
    expect(foldedText).toContain("Turn 2 of chat");
    expect((await stateOf(proxy, homeAccount)).state).toBe("rate_limited");

    // Rebound: the next turn continues the new thread on the new account.
    const fourth = await chatTurn(proxy.url, { chatId, message: "Thanks." });
    expect(parseReply(fourth.content)).toMatchObject({
      turn: 2,
      upstreamChat: folded!.query.chat_id!.slice(0, 8),
    });
    const continued = completionsOf(log(), "Thanks.");
    expect(continued).toHaveLength(1);
    expect(continued[0]!.accountId).toBe(folded!.accountId);
    expect(continued[0]!.query.chat_id).toBe(folded!.query.chat_id);
    expect(upstreamMessageText(continued[0]!)).not.toContain("tangerine");

    // Deleting the chat removes both upstream chats, each with the account that made it.
    expect((await api(proxy.url, "DELETE", `/api/chats/${chatId}`)).status).toBe(200);
    await proxy.server.context.upstreamCleanup.idle();
    const deletions = log().filter((entry) => entry.method === "DELETE");
    expect(deletions.map((entry) => [entry.path.split("/").at(-1), entry.accountId]).sort()).toEqual(
      [
        [home.query.chat_id, homeAccount.id],
        [folded!.query.chat_id, folded!.accountId],
      ].sort(),
    );
  });

  it("every call for one upstream chat uses the account that created it", async () => {
    const proxy = await freshProxy({ accountConcurrency: 1 });
    const log = logFrom();
    const chatIds = await Promise.all(
      Array.from({ length: 6 }, async (_, chat) => {
        let chatId: string | undefined;
        for (let turn = 1; turn <= 3; turn++) {
          const answer = await chatTurn(proxy.url, { chatId, message: `Chat ${chat}, message ${turn}.` });
          chatId = answer.chatId;
        }
        return chatId!;
      }),
    );
    const owner = new Map<string, string>();
    for (const account of accounts) {
      for (const chat of harness.fake.chatsOf(account.id)) owner.set(chat.id, account.id);
    }
    const created = log().filter((entry) => entry.path === NEW_CHAT);
    const completions = log().filter((entry) => entry.path === COMPLETIONS);
    expect(completions).toHaveLength(18);
    const used = new Set(completions.map((entry) => entry.query.chat_id!));
    expect(used.size).toBe(created.length);
    // Creation: each account created exactly the upstream chats the fake says it owns.
    for (const account of accounts) {
      const mine = [...used].filter((id) => owner.get(id) === account.id);
      expect(created.filter((entry) => entry.accountId === account.id)).toHaveLength(mine.length);
    }
    for (const entry of completions) expect(entry.accountId).toBe(owner.get(entry.query.chat_id!));

    for (const chatId of chatIds)
      expect((await api(proxy.url, "DELETE", `/api/chats/${chatId}`)).status).toBe(200);
    await proxy.server.context.upstreamCleanup.idle();
    const deletions = log().filter((entry) => entry.method === "DELETE");
    expect(deletions).toHaveLength(used.size);
    for (const entry of deletions) expect(entry.accountId).toBe(owner.get(entry.path.split("/").at(-1)!));
    for (const account of accounts) {
      expect(harness.fake.chatsOf(account.id).filter((chat) => used.has(chat.id))).toEqual([]);
    }
  });
});
