import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "../../testing/fake-qwen/index.js";
import { accountIdFor } from "../accounts/account-pool.js";
import { AccountBrowser } from "./account-browser.js";
import { LoginError, loginWithBrowser } from "./login.js";

let fake: FakeQwen;
let dataDir: string;

beforeAll(async () => {
  fake = await startFakeQwen();
  fake.addAccount({ email: "ivan@example.com", password: "пароль-123" });
});

afterAll(async () => {
  await fake.close();
});

afterEach(() => {
  fake.setVerification(false);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function freshDataDir(): string {
  dataDir = mkdtempSync(join(tmpdir(), "fqa-login-"));
  return dataDir;
}

describe("headless sign-in through the real page", () => {
  it("fills the form, reads the token from localStorage, keeps the profile under the account", async () => {
    const directory = freshDataDir();
    const result = await loginWithBrowser({
      baseUrl: fake.url,
      dataDir: directory,
      headless: true,
      email: "ivan@example.com",
      password: "пароль-123",
    });
    expect(result.email).toBe("ivan@example.com");
    expect(result.accountId).toBe(accountIdFor(result.token));
    const accounts = readdirSync(join(directory, "accounts"));
    expect(accounts).toEqual([result.accountId]);
    expect(existsSync(join(directory, "accounts", result.accountId, "profile"))).toBe(true);

    // A restart: the saved profile comes up signed in, without logging in again.
    const browser = new AccountBrowser({
      accountId: result.accountId,
      dataDir: directory,
      baseUrl: fake.url,
      headless: true,
    });
    try {
      expect(await browser.pageState()).toBe("logged-in");
      expect(await browser.readToken()).toBe(result.token);
    } finally {
      await browser.close();
    }
  });

  it("a wrong password is reported as refused credentials and leaves nothing behind", async () => {
    const directory = freshDataDir();
    const attempt = loginWithBrowser({
      baseUrl: fake.url,
      dataDir: directory,
      headless: true,
      email: "ivan@example.com",
      password: "wrong",
    });
    await expect(attempt).rejects.toMatchObject({ reason: "credentials" });
    expect(readdirSync(join(directory, "accounts"))).toEqual([]);
  });

  it("a verification page is recognised and the user told to log in headed", async () => {
    const directory = freshDataDir();
    fake.setVerification(true);
    const attempt = loginWithBrowser({
      baseUrl: fake.url,
      dataDir: directory,
      headless: true,
      email: "ivan@example.com",
      password: "пароль-123",
    });
    await expect(attempt).rejects.toBeInstanceOf(LoginError);
    await expect(attempt).rejects.toMatchObject({ reason: "verification" });
    await expect(attempt).rejects.toThrow(/visible browser/);
  });

  it("without credentials a headless sign-in says what it needs", async () => {
    const attempt = loginWithBrowser({ baseUrl: fake.url, dataDir: freshDataDir(), headless: true });
    await expect(attempt).rejects.toMatchObject({ reason: "credentials" });
  });
});
