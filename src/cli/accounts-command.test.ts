import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const dataDir = mkdtempSync(join(tmpdir(), "fqa-cli-"));
const REPOSITORY = new URL("../..", import.meta.url).pathname;

function jwt(payload: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "HS256", typ: "JWT" })}.${part(payload)}.signature`;
}

async function cli(...args: string[]) {
  const environment = { ...process.env, DATA_DIR: dataDir, QWEN_TOKENS: "" };
  try {
    const result = await run(process.execPath, ["--import", "tsx", "src/cli/index.ts", ...args], {
      cwd: REPOSITORY,
      env: environment,
    });
    return { code: 0, stdout: result.stdout, stderr: result.stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("accounts command", () => {
  const token = jwt({ id: "user-42", exp: Math.floor(Date.now() / 1000) + 86_400 });

  it("adds a token, lists it without the token, disables, enables and removes it", async () => {
    const added = await cli("accounts", "add", "--token", token, "--label", "work");
    expect(added.code).toBe(0);
    expect(added.stdout).toContain("acct_user-42");
    expect(statSync(join(dataDir, "accounts", "acct_user-42", "account.json")).mode & 0o777).toBe(0o600);

    const table = await cli("accounts");
    expect(table.stdout).toMatch(/acct_user-42\s+work\s+cli\s+ok/);
    expect(table.stdout).not.toContain(token);

    // What the server last knew shows too: a rate limit with its end, and today's count.
    const until = Date.now() + 3_600_000;
    const today = new Date();
    writeFileSync(
      join(dataDir, "account-state.json"),
      JSON.stringify({
        "acct_user-42": {
          state: "rate_limited",
          unavailableUntil: until,
          requestsToday: 7,
          day: `${today.getFullYear()}-${today.getMonth() + 1}-${today.getDate()}`,
          lastError: "The Qwen account is rate-limited for 1 h",
        },
      }),
    );
    const listed = JSON.parse((await cli("accounts", "list", "--json")).stdout) as Array<
      Record<string, unknown>
    >;
    expect(listed).toEqual([
      expect.objectContaining({
        id: "acct_user-42",
        label: "work",
        state: "rate_limited",
        unavailableUntil: new Date(until).toISOString(),
        requestsToday: 7,
      }),
    ]);
    expect(JSON.stringify(listed)).not.toContain(token);

    expect((await cli("accounts", "disable", "acct_user-42")).code).toBe(0);
    expect((await cli("accounts", "list", "--json")).stdout).toContain('"state": "disabled"');
    expect((await cli("accounts", "enable", "acct_user-42")).code).toBe(0);
    expect((await cli("accounts", "remove", "acct_user-42")).code).toBe(0);
    expect((await cli("accounts")).stdout).toContain("No accounts");
  });

  it("adds an account from a whole pasted Cookie header, keeping its other cookies in the 0600 file", async () => {
    const pastedToken = jwt({ id: "user-77", exp: Math.floor(Date.now() / 1000) + 86_400 });
    const added = await cli("accounts", "add", "--cookie", `cna=c1; ssxmod_itna=s=2; token=${pastedToken}`);
    expect(added.code).toBe(0);
    expect(added.stdout).toContain("acct_user-77");
    expect(added.stdout).toContain("with 2 more cookies");
    const file = join(dataDir, "accounts", "acct_user-77", "account.json");
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({
      token: pastedToken,
      cookies: { cna: "c1", ssxmod_itna: "s=2" },
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const none = await cli("accounts", "add", "--cookie", "cna=only");
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("--token");
    expect((await cli("accounts", "remove", "acct_user-77")).code).toBe(0);
  });

  it("refuses what is not a token, an expired token and an unknown account", async () => {
    expect((await cli("accounts", "add", "--token", "hello")).stderr).toContain("does not look like");
    const old = jwt({ id: "old", exp: Math.floor(Date.now() / 1000) - 60 });
    const expired = await cli("accounts", "add", "--token", old);
    expect(expired.code).toBe(1);
    expect(expired.stderr).toContain("expired");
    const unknown = await cli("accounts", "remove", "acct_nobody");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("No saved account");
  });
});
