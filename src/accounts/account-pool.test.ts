import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { QwenError, type QwenErrorCode, ServiceError } from "../errors.js";
import type { Transport } from "../transport/transport.js";
import { type Account, AccountPool, type AccountPoolOptions, accountIdFor } from "./account-pool.js";
import { accountStatePath, readAccountState, writeAccountState } from "./account-state-file.js";

// The scheduler on its own: a fake clock (vitest's, read through the injected `now`), a
// chosen `random` for the jitter, and JWT-shaped tokens whose `id` claim names the account.
// No request leaves the process: the accounts' transport refuses to send anything.

const START = new Date(2026, 2, 10, 9, 0, 0).getTime();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const offline: Transport = {
  kind: "direct",
  request: async () => {
    throw new Error("unit tests of the pool send no requests");
  },
  close: async () => {},
};

let randomValue = 0;
const pools: AccountPool[] = [];

beforeEach(() => {
  vi.useFakeTimers({ now: START, toFake: ["setTimeout", "clearTimeout", "Date"] });
  randomValue = 0;
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
  vi.useRealTimers();
});

/** A JWT-shaped token (unsigned: the pool only reads the payload). */
function jwt(id: string, expiresInSeconds = 30 * 24 * 3600): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const exp = Math.floor(Date.now() / 1000) + expiresInSeconds;
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode({ id, exp, jti: Math.random() })}.c2lnbmF0dXJl`;
}

function makePool(options: Partial<AccountPoolOptions> = {}, ids: string[] = ["a", "b", "c"]) {
  const pool = new AccountPool({
    baseUrl: "http://127.0.0.1:9",
    transportFor: () => offline,
    now: () => Date.now(),
    random: () => randomValue,
    ...options,
  });
  pools.push(pool);
  const accounts = ids.map((id) => pool.addToken(jwt(id)));
  return { pool, accounts };
}

interface Tracked<T> {
  status: "pending" | "resolved" | "rejected";
  value?: T;
  error?: unknown;
}

/** Watches a promise without awaiting it, so a test can ask "has it settled yet?". */
function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { status: "pending" };
  promise.then(
    (value) => {
      tracked.status = "resolved";
      tracked.value = value;
    },
    (error: unknown) => {
      tracked.status = "rejected";
      tracked.error = error;
    },
  );
  return tracked;
}

/** Lets settled promises run their callbacks (and due timers fire) without moving the clock. */
const flush = () => vi.advanceTimersByTimeAsync(0);
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

function failure(code: QwenErrorCode, retryAfterMs?: number): QwenError {
  return new QwenError(code, `simulated ${code}`, retryAfterMs === undefined ? {} : { retryAfterMs });
}

function expectNoAccount(error: unknown, retryAfterMs?: number): ServiceError {
  expect(error).toBeInstanceOf(ServiceError);
  const serviceError = error as ServiceError;
  expect(serviceError.code).toBe("no_account_available");
  if (retryAfterMs !== undefined) expect(serviceError.retryAfterMs).toBe(retryAfterMs);
  return serviceError;
}

async function use(pool: AccountPool, options?: Parameters<AccountPool["acquire"]>[0]): Promise<string> {
  const account = await pool.acquire(options);
  pool.release(account);
  return account.id;
}

describe("accountIdFor", () => {
  it("names the account by the token's user id, so a renewed token is the same account", () => {
    expect(accountIdFor(jwt("user-1"))).toBe("acct_user-1");
    expect(accountIdFor(jwt("user-1"))).toBe(accountIdFor(jwt("user-1", 60)));
  });

  it("falls back to a hash for opaque tokens and for ids unfit for a name", () => {
    expect(accountIdFor("opaque-token")).toMatch(/^acct_[0-9a-f]{16}$/);
    expect(accountIdFor("opaque-token")).toBe(accountIdFor("opaque-token"));
    expect(accountIdFor(jwt("../etc/passwd"))).toMatch(/^acct_[0-9a-f]{16}$/);
  });
});

describe("rotation", () => {
  it("gives each new request the least recently used account", async () => {
    const { pool } = makePool();
    const order: string[] = [];
    for (let index = 0; index < 9; index++) {
      order.push(await use(pool));
      await advance(10);
    }
    expect(order).toEqual(["a", "b", "c", "a", "b", "c", "a", "b", "c"].map((id) => `acct_${id}`));
    expect(pool.status().map((account) => account.requestsToday)).toEqual([3, 3, 3]);
  });

  it("rotates even when every request starts in the same millisecond", async () => {
    const { pool } = makePool();
    const order = [];
    for (let index = 0; index < 6; index++) order.push(await use(pool));
    expect(order).toEqual(["a", "b", "c", "a", "b", "c"].map((id) => `acct_${id}`));
  });

  it("skips a busy account and comes back to it once it is the least recently used", async () => {
    const { pool } = makePool();
    const held = await pool.acquire();
    expect(held.id).toBe("acct_a");
    await advance(10);
    expect(await use(pool)).toBe("acct_b");
    await advance(10);
    expect(await use(pool)).toBe("acct_c");
    await advance(10);
    // a is the least recently used, but busy.
    expect(await use(pool)).toBe("acct_b");
    pool.release(held);
    await advance(10);
    expect(await use(pool)).toBe("acct_a");
  });
});

describe("concurrency limit", () => {
  it("runs at most `concurrency` requests on one account; the next waits for a release", async () => {
    const { pool, accounts } = makePool({ concurrency: 2 }, ["solo"]);
    const first = await pool.acquire();
    const second = await pool.acquire();
    const third = track(pool.acquire());
    await flush();
    expect(third.status).toBe("pending");
    expect(accounts[0]!.inFlight).toBe(2);
    expect(pool.waiting).toBe(1);

    pool.release(first);
    await flush();
    expect(third.status).toBe("resolved");
    expect(third.value).toBe(second);
    expect(accounts[0]!.inFlight).toBe(2);
    expect(pool.waiting).toBe(0);
  });

  it("never exceeds the limit while many requests come and go, and serves each once", async () => {
    const { pool, accounts } = makePool({ concurrency: 1, queueLimit: 100 });
    const requests = Array.from({ length: 30 }, () => track(pool.acquire()));
    const done = new Set<Tracked<Account>>();
    let maxInFlight = 0;
    while (done.size < requests.length) {
      await flush();
      for (const account of accounts) maxInFlight = Math.max(maxInFlight, account.inFlight);
      const running = requests.filter((request) => request.status === "resolved" && !done.has(request));
      expect(running.length).toBeGreaterThan(0);
      expect(running.length).toBeLessThanOrEqual(accounts.length);
      // Finish the oldest running request only, so the others overlap with new starts.
      const finished = running[0]!;
      done.add(finished);
      pool.release(finished.value!);
    }
    expect(maxInFlight).toBe(1);
    expect(requests.every((request) => request.status === "resolved")).toBe(true);
    expect(accounts.map((account) => account.inFlight)).toEqual([0, 0, 0]);
    expect(pool.status().reduce((sum, account) => sum + account.requestsToday, 0)).toBe(30);
  });
});

describe("pacing", () => {
  it("makes the next start on an account wait for the gap plus the drawn jitter", async () => {
    randomValue = 0.5;
    const { pool } = makePool({ concurrency: 5, minGapMs: 100, gapJitterMs: 50 }, ["solo"]);
    await pool.acquire();
    const second = track(pool.acquire());
    await advance(124);
    expect(second.status).toBe("pending");
    await advance(1);
    expect(second.status).toBe("resolved");
  });

  it.each([
    [0, 100],
    [0.25, 112],
    [0.5, 125],
    [0.999_999, 149],
  ])("with random() = %s the gap is %s ms, within [minGap, minGap + jitter)", async (random, gapMs) => {
    randomValue = random;
    const { pool } = makePool({ concurrency: 5, minGapMs: 100, gapJitterMs: 50 }, ["solo"]);
    await pool.acquire();
    const startedAt = Date.now();
    const next = track(pool.acquire());
    while (next.status === "pending") await advance(1);
    expect(Date.now() - startedAt).toBe(gapMs);
    expect(gapMs).toBeGreaterThanOrEqual(100);
    expect(gapMs).toBeLessThan(150);
  });

  it("paces each account on its own: three accounts start three requests at once", async () => {
    const { pool } = makePool({ minGapMs: 1000, gapJitterMs: 500 });
    const started = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    expect(started.map((account) => account.id).sort()).toEqual(["acct_a", "acct_b", "acct_c"]);
    const fourth = track(pool.acquire());
    for (const account of started) pool.release(account);
    await flush();
    expect(fourth.status).toBe("pending");
    await advance(1000);
    expect(fourth.status).toBe("resolved");
  });

  it("a released account waits for its gap before the next waiter gets it", async () => {
    const { pool } = makePool({ minGapMs: 200 }, ["solo"]);
    const first = await pool.acquire();
    const waiter = track(pool.acquire());
    await advance(50);
    pool.release(first);
    await flush();
    expect(waiter.status).toBe("pending");
    await advance(149);
    expect(waiter.status).toBe("pending");
    await advance(1);
    expect(waiter.status).toBe("resolved");
  });
});

describe("the waiting queue", () => {
  it("serves waiters first come, first served", async () => {
    const { pool } = makePool({}, ["solo"]);
    let held = await pool.acquire();
    const served: number[] = [];
    const waiters = [0, 1, 2, 3].map((index) =>
      pool.acquire().then((account) => {
        served.push(index);
        return account;
      }),
    );
    expect(pool.waiting).toBe(4);
    for (const waiter of waiters) {
      pool.release(held);
      held = await waiter;
    }
    expect(served).toEqual([0, 1, 2, 3]);
    expect(pool.waiting).toBe(0);
  });

  it("keeps the order when the gap, not the concurrency, is what makes them wait", async () => {
    const { pool } = makePool({ minGapMs: 50 }, ["solo"]);
    pool.release(await pool.acquire());
    const served: number[] = [];
    for (const index of [0, 1, 2]) {
      void pool.acquire().then((account) => {
        served.push(index);
        pool.release(account);
      });
    }
    await advance(49);
    expect(served).toEqual([]);
    await advance(1);
    expect(served).toEqual([0]);
    await advance(100);
    expect(served).toEqual([0, 1, 2]);
  });

  it("a waiter that excludes the free account does not hold up those behind it", async () => {
    const { pool } = makePool({}, ["a", "b"]);
    const heldA = await pool.acquire();
    const heldB = await pool.acquire();
    const picky = track(pool.acquire({ exclude: new Set(["acct_a"]) }));
    const easy = track(pool.acquire());
    pool.release(heldA);
    await flush();
    expect(picky.status).toBe("pending");
    expect(easy.status).toBe("resolved");
    expect(easy.value?.id).toBe("acct_a");
    pool.release(heldB);
    await flush();
    expect(picky.value?.id).toBe("acct_b");
  });

  it("refuses at once, with a Retry-After, when the queue is full", async () => {
    const { pool } = makePool({ queueLimit: 2 }, ["solo"]);
    await pool.acquire();
    const waiters = [track(pool.acquire()), track(pool.acquire())];
    const refused = track(pool.acquire());
    await flush();
    expect(refused.status).toBe("rejected");
    expectNoAccount(refused.error, 5_000);
    expect(pool.waiting).toBe(2);
    expect(waiters.map((waiter) => waiter.status)).toEqual(["pending", "pending"]);
  });

  it("answers no_account_available with retryAfterMs after the queue's timeout", async () => {
    const { pool, accounts } = makePool({ queueTimeoutMs: 1_000 }, ["solo"]);
    const held = await pool.acquire();
    const waiter = track(pool.acquire());
    await advance(999);
    expect(waiter.status).toBe("pending");
    await advance(1);
    expect(waiter.status).toBe("rejected");
    expectNoAccount(waiter.error, 1_000);
    expect(pool.waiting).toBe(0);
    // The account freed later is not handed to the request that already gave up.
    pool.release(held);
    await flush();
    expect(accounts[0]!.inFlight).toBe(0);
  });

  it("advises a Retry-After of at least one pacing interval after a timeout", async () => {
    const { pool } = makePool({ queueTimeoutMs: 500, minGapMs: 3_000, gapJitterMs: 1_000 }, ["solo"]);
    await pool.acquire();
    const waiter = track(pool.acquire());
    await advance(500);
    expectNoAccount(waiter.error, 4_000);
  });

  it("an aborted request leaves the queue and is never given an account", async () => {
    const { pool, accounts } = makePool({}, ["solo"]);
    const held = await pool.acquire();
    const controller = new AbortController();
    const aborted = track(pool.acquire({ signal: controller.signal }));
    const next = track(pool.acquire());
    expect(pool.waiting).toBe(2);
    const reason = new Error("client went away");
    controller.abort(reason);
    await flush();
    expect(aborted.status).toBe("rejected");
    expect(aborted.error).toBe(reason);
    expect(pool.waiting).toBe(1);
    pool.release(held);
    await flush();
    expect(next.status).toBe("resolved");
    expect(accounts[0]!.inFlight).toBe(1);
  });

  it("a request already aborted does not queue", async () => {
    const { pool } = makePool({}, ["solo"]);
    await pool.acquire();
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    await expect(pool.acquire({ signal: controller.signal })).rejects.toThrow("gone");
    expect(pool.waiting).toBe(0);
  });

  it("closing the pool answers every waiter", async () => {
    const { pool } = makePool({}, ["solo"]);
    await pool.acquire();
    const waiter = track(pool.acquire());
    await pool.close();
    await flush();
    expectNoAccount(waiter.error);
  });
});

describe("parked accounts", () => {
  it("a rate-limited account is skipped for the hours upstream named, then serves again", async () => {
    const { pool, accounts } = makePool({}, ["a", "b"]);
    pool.reportFailure(accounts[0]!, failure("rate_limited", 2 * HOUR));
    const status = pool.status()[0]!;
    expect(status.state).toBe("rate_limited");
    expect(status.unavailableUntil).toBe(new Date(START + 2 * HOUR).toISOString());
    expect(status.lastError).toBe("simulated rate_limited");

    for (let index = 0; index < 5; index++) expect(await use(pool)).toBe("acct_b");
    await advance(2 * HOUR - 1);
    expect(await use(pool)).toBe("acct_b");
    await advance(1);
    expect(await use(pool)).toBe("acct_a");
    expect(pool.status()[0]).toMatchObject({ state: "ok", unavailableUntil: null });
  });

  it("a waiting request gets a parked account the moment its time is up", async () => {
    const { pool, accounts } = makePool({ queueTimeoutMs: 10 * MINUTE }, ["a", "b"]);
    pool.reportFailure(accounts[0]!, failure("rate_limited", MINUTE));
    await pool.acquire(); // b, held
    const waiter = track(pool.acquire());
    await advance(MINUTE - 1);
    expect(waiter.status).toBe("pending");
    await advance(1);
    expect(waiter.value?.id).toBe("acct_a");
  });

  it("fails at once when every account is parked, advising the soonest return", async () => {
    const { pool, accounts } = makePool({}, ["a", "b"]);
    pool.reportFailure(accounts[0]!, failure("rate_limited", 2 * HOUR));
    pool.reportFailure(accounts[1]!, failure("quota_exceeded"));
    expect(pool.status().map((account) => account.state)).toEqual(["rate_limited", "rate_limited"]);
    await expect(pool.acquire()).rejects.toSatisfy((error) => !!expectNoAccount(error, HOUR));
    expect(pool.waiting).toBe(0);
  });

  it("parks after the anti-bot wall for five minutes, and for good after a 401", async () => {
    const { pool, accounts } = makePool({}, ["a", "b"]);
    pool.reportFailure(accounts[0]!, failure("waf_challenge"));
    pool.reportFailure(accounts[1]!, failure("unauthorized"));
    expect(pool.status().map((account) => account.state)).toEqual(["cooling_down", "expired"]);
    expect(pool.nextAvailableAt()).toBe(START + 5 * MINUTE);
    await advance(5 * MINUTE);
    expect(await use(pool)).toBe("acct_a");
    await advance(24 * HOUR);
    expect(pool.status()[1]!.state).toBe("expired");
  });

  it("a waiter is answered, not forgotten, when the last healthy account fails under it", async () => {
    const { pool, accounts } = makePool({}, ["a", "b"]);
    pool.reportFailure(accounts[0]!, failure("rate_limited", HOUR));
    const held = await pool.acquire();
    const waiter = track(pool.acquire());
    pool.reportFailure(held, failure("unauthorized"));
    pool.release(held);
    await flush();
    expect(waiter.status).toBe("rejected");
    expectNoAccount(waiter.error, HOUR);
    expect(pool.waiting).toBe(0);
  });
});

describe("prefer and exclude", () => {
  it("takes the preferred account when it is free, even if another is less recently used", async () => {
    const { pool } = makePool();
    expect(await use(pool, { prefer: "acct_c" })).toBe("acct_c");
    expect(await use(pool, { prefer: "acct_c" })).toBe("acct_c");
    expect(await use(pool)).toBe("acct_a");
  });

  it("does not wait for a busy or parked preferred account", async () => {
    const { pool, accounts } = makePool();
    const held = await pool.acquire({ prefer: "acct_b" });
    expect(await use(pool, { prefer: "acct_b" })).not.toBe("acct_b");
    pool.release(held);
    pool.reportFailure(accounts[1]!, failure("rate_limited", HOUR));
    expect(await use(pool, { prefer: "acct_b" })).not.toBe("acct_b");
  });

  it("never hands out an excluded account, and says why when nothing else is left", async () => {
    const { pool } = makePool();
    const exclude = new Set(["acct_a", "acct_b"]);
    for (let index = 0; index < 4; index++) expect(await use(pool, { exclude })).toBe("acct_c");
    const error = await pool.acquire({ exclude: new Set(["acct_a", "acct_b", "acct_c"]) }).catch((e) => e);
    expect(expectNoAccount(error).message).toContain("the others failed this request");
  });

  it("a waiter bound to an account takes it when that account frees", async () => {
    const { pool } = makePool({}, ["a", "b"]);
    await pool.acquire();
    const heldB = await pool.acquire();
    const waiter = track(pool.acquire({ prefer: "acct_b" }));
    pool.release(heldB);
    await flush();
    expect(waiter.value?.id).toBe("acct_b");
  });
});

describe("state across restarts", () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "account-pool-test-"));
  });

  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a rate limit survives a restart through the state file", async () => {
    const tokens = { a: jwt("a"), b: jwt("b") };
    const before = new AccountPool({ baseUrl: "http://127.0.0.1:9", transportFor: () => offline });
    pools.push(before);
    const limited = before.addToken(tokens.a);
    before.addToken(tokens.b);
    await use(before);
    await use(before);
    await use(before);
    before.reportFailure(limited, failure("rate_limited", 2 * HOUR));
    writeAccountState(dataDir, before.snapshot());
    expect(statSync(accountStatePath(dataDir)).mode & 0o777).toBe(0o600);
    await before.close();

    await advance(10 * MINUTE);
    const { pool: after } = makePool({ savedState: readAccountState(dataDir) }, []);
    after.addToken(tokens.a);
    after.addToken(tokens.b);
    const [statusA, statusB] = after.status();
    expect(statusA).toMatchObject({
      state: "rate_limited",
      unavailableUntil: new Date(START + 2 * HOUR).toISOString(),
      lastError: "simulated rate_limited",
      requestsToday: 2,
    });
    expect(statusB).toMatchObject({ state: "ok", requestsToday: 1 });
    for (let index = 0; index < 4; index++) expect(await use(after)).toBe("acct_b");

    await advance(2 * HOUR - 10 * MINUTE);
    expect(await use(after)).toBe("acct_a");
  });

  it("forgets a park that ended while the server was down, and yesterday's counts", async () => {
    const { pool: before, accounts } = makePool({}, ["a"]);
    await use(before);
    before.reportFailure(accounts[0]!, failure("rate_limited", HOUR));
    const saved = JSON.parse(JSON.stringify(before.snapshot()));
    await advance(25 * HOUR);
    const { pool: after } = makePool({ savedState: saved }, ["a"]);
    expect(after.status()[0]).toMatchObject({ state: "ok", unavailableUntil: null, requestsToday: 0 });
  });

  it("a damaged or missing state file only loses the cool-downs", () => {
    expect(readAccountState(dataDir)).toEqual({});
    writeFileSync(accountStatePath(dataDir), "{not json");
    expect(readAccountState(dataDir)).toEqual({});
  });
});

describe("back-off after repeated failures", () => {
  it("rests an account after three failures in a row, doubling up to ten minutes", async () => {
    const changes = vi.fn();
    const { pool, accounts } = makePool({ onStateChange: changes }, ["a"]);
    const account = accounts[0]!;
    pool.reportFailure(account, failure("upstream_internal"));
    pool.reportFailure(account, failure("network_error"));
    expect(pool.status()[0]!.state).toBe("ok");
    expect(changes).toHaveBeenCalledTimes(2);

    const rests: number[] = [];
    for (let index = 0; index < 7; index++) {
      pool.reportFailure(account, failure("timeout"));
      expect(pool.status()[0]!.state).toBe("cooling_down");
      const rest = account.unavailableUntil! - Date.now();
      rests.push(rest);
      await advance(rest);
      expect(pool.status()[0]!.state).toBe("ok");
    }
    expect(rests).toEqual([30, 60, 120, 240, 480, 600, 600].map((seconds) => seconds * 1000));
  });

  it("a success starts the count over", async () => {
    const { pool, accounts } = makePool({}, ["a"]);
    const account = accounts[0]!;
    pool.reportFailure(account, failure("upstream_internal"));
    pool.reportFailure(account, failure("upstream_internal"));
    pool.reportSuccess(account);
    pool.reportFailure(account, failure("upstream_internal"));
    pool.reportFailure(account, failure("upstream_internal"));
    expect(pool.status()[0]!.state).toBe("ok");
  });

  it("content refused by the filter does not count against the account", () => {
    const { pool, accounts } = makePool({}, ["a"]);
    for (let index = 0; index < 5; index++) pool.reportFailure(accounts[0]!, failure("moderation"));
    expect(pool.status()[0]).toMatchObject({ state: "ok", lastError: "simulated moderation" });
  });

  it("failures a retry cannot fix do not count against the account", () => {
    const { pool, accounts } = makePool({}, ["a"]);
    for (let index = 0; index < 5; index++) pool.reportFailure(accounts[0]!, failure("bad_request"));
    expect(pool.status()[0]!.state).toBe("ok");
  });
});

describe("tokens", () => {
  it("an account whose token has already expired is added as expired and not used", async () => {
    const { pool } = makePool({}, []);
    pool.addToken(jwt("old", -60));
    expect(pool.status()[0]).toMatchObject({ state: "expired", lastError: "The token's exp is in the past" });
    await expect(pool.acquire()).rejects.toBeInstanceOf(ServiceError);
  });

  it("updateToken revives an expired account and hands it to a waiting request", async () => {
    const { pool, accounts } = makePool({}, ["a", "b"]);
    pool.reportFailure(accounts[0]!, failure("unauthorized"));
    await pool.acquire(); // b, held
    const waiter = track(pool.acquire());
    await flush();
    expect(waiter.status).toBe("pending");

    const fresh = jwt("a");
    pool.updateToken("acct_a", fresh);
    await flush();
    expect(waiter.value?.id).toBe("acct_a");
    expect(accounts[0]!.token).toBe(fresh);
    expect(pool.status()[0]).toMatchObject({ state: "ok", lastError: null });
  });

  it("a token that is itself expired does not revive the account", () => {
    const { pool, accounts } = makePool({}, ["a"]);
    pool.reportFailure(accounts[0]!, failure("unauthorized"));
    pool.updateToken("acct_a", jwt("a", -1));
    expect(pool.status()[0]!.state).toBe("expired");
  });

  it("adding a new token of a known user renews that account instead of adding one", () => {
    const { pool, accounts } = makePool({}, ["a"]);
    pool.reportFailure(accounts[0]!, failure("unauthorized"));
    const again = pool.addToken(jwt("a"));
    expect(again).toBe(accounts[0]);
    expect(pool.size).toBe(1);
    expect(again.state).toBe("ok");
  });

  it("a new token does not lift a rate limit: the limit belongs to the user, not the token", async () => {
    const { pool, accounts } = makePool({}, ["a"]);
    pool.reportFailure(accounts[0]!, failure("rate_limited", HOUR));
    pool.updateToken("acct_a", jwt("a"));
    expect(pool.status()[0]!.state).toBe("rate_limited");
    await expect(pool.acquire()).rejects.toBeInstanceOf(ServiceError);
  });
});
