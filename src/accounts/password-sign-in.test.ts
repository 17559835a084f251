import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM_PATH, hasChromium, makeTemporaryDirectory } from "../../testing/browser-harness.js";
import { type FakeQwen, startFakeQwen } from "../../testing/fake-qwen/index.js";
import { LoginError } from "../browser/login.js";
import { signInWithPassword } from "./password-sign-in.js";

// E-mail and password: the API first, the sign-in page in a headless browser only when the
// wall stands in front of the API. Against the fake, which counts the pages it served.

const run = promisify(execFile);
const REPOSITORY = new URL("../..", import.meta.url).pathname;

let fake: FakeQwen;
const dataDir = makeTemporaryDirectory("fqa-signin-");

beforeAll(async () => {
  fake = await startFakeQwen({ chunkDelayMs: 0 });
});

afterEach(() => fake.clearScenario());

afterAll(async () => {
  await fake?.close();
  dataDir.remove();
});

describe("signing in with e-mail and password", () => {
  it("takes the API way: a working token for that account, and no page is loaded", async () => {
    const account = fake.addAccount({ email: "api@example.com", password: "correct horse" });
    const pagesBefore = fake.pageLoads;
    const result = await signInWithPassword({
      baseUrl: fake.url,
      dataDir: dataDir.path,
      email: "api@example.com",
      password: "correct horse",
    });
    expect(result.accountId).toBe(`acct_${account.id}`);
    expect(fake.pageLoads).toBe(pagesBefore);
    const me = await fetch(`${fake.url}/api/v1/auths/`, {
      headers: { authorization: `Bearer ${result.token}` },
    });
    expect(me.status).toBe(200);
    // The password travelled as its SHA-256, never as itself.
    const request = fake.requests.filter((entry) => entry.path === "/api/v1/auths/signin").at(-1);
    expect(JSON.stringify(request?.body)).not.toContain("correct horse");
  });

  it("a wrong password is final: a credentials error, and no browser is tried", async () => {
    fake.addAccount({ email: "wrong@example.com", password: "right" });
    const pagesBefore = fake.pageLoads;
    const error = await signInWithPassword({
      baseUrl: fake.url,
      dataDir: dataDir.path,
      email: "wrong@example.com",
      password: "not it",
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LoginError);
    expect((error as LoginError).reason).toBe("credentials");
    expect(fake.pageLoads).toBe(pagesBefore);
  });

  it.skipIf(!hasChromium)(
    "behind the wall, signs in through the page in a headless browser",
    async () => {
      const account = fake.addAccount({ email: "walled@example.com", password: "through the page" });
      fake.setScenario({ kind: "waf" }, { times: 1, route: "any" });
      const pagesBefore = fake.pageLoads;
      const result = await signInWithPassword({
        baseUrl: fake.url,
        dataDir: dataDir.path,
        email: "walled@example.com",
        password: "through the page",
        onStatus: () => {},
      });
      expect(result.accountId).toBe(`acct_${account.id}`);
      expect(fake.pageLoads).toBeGreaterThan(pagesBefore);
      expect(existsSync(join(dataDir.path, "accounts", result.accountId, "profile"))).toBe(true);
    },
    60_000,
  );
});

describe("npm start -- login --headless", () => {
  it("signs in without a browser window and saves the account, password not in clear", async () => {
    const account = fake.addAccount({ email: "cli@example.com", password: "s3cret-pass" });
    const cliData = makeTemporaryDirectory("fqa-login-cli-");
    try {
      const { stderr } = await run(
        process.execPath,
        [
          "--import",
          "tsx",
          "src/cli/index.ts",
          "login",
          "--headless",
          "--email",
          "cli@example.com",
          "--password",
          "s3cret-pass",
          "--remember-password",
        ],
        {
          cwd: REPOSITORY,
          env: {
            ...process.env,
            DATA_DIR: cliData.path,
            QWEN_BASE_URL: fake.url,
            CHROMIUM_PATH,
            QWEN_TOKENS: "",
          },
        },
      );
      expect(stderr).toContain(`Signed in: account acct_${account.id}`);
      const file = readFileSync(join(cliData.path, "accounts", `acct_${account.id}`, "account.json"), "utf8");
      expect(JSON.parse(file)).toMatchObject({ email: "cli@example.com", source: "browser" });
      expect(file).not.toContain("s3cret-pass");
      expect(JSON.parse(file).encryptedPassword).toBeTruthy();
    } finally {
      cliData.remove();
    }
  }, 30_000);
});
