import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { accountIdFor } from "../accounts/account-pool.js";
import { AccountBrowser } from "./account-browser.js";

export interface LoginOptions {
  baseUrl: string;
  dataDir: string;
  /** false: a visible window where the user signs in; true: the form is filled for them. */
  headless: boolean;
  email?: string;
  password?: string;
  chromiumPath?: string;
  userAgent?: string;
  /** How long to wait for the sign-in, ms (a person needs minutes; a form seconds). */
  timeoutMs?: number;
  /** Progress for the person at the terminal. */
  onStatus?: (message: string) => void;
  /** Resolves when the user says they are done (Enter in the terminal). */
  userDone?: Promise<void>;
}

export interface LoginResult {
  accountId: string;
  token: string;
  email?: string;
}

export type LoginFailureReason = "verification" | "credentials" | "timeout" | "no-token";

export class LoginError extends Error {
  override readonly name = "LoginError";
  readonly reason: LoginFailureReason;

  constructor(reason: LoginFailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** What the sign-in page shows when the site wants a human check first (protocol notes §2.2). */
const VERIFICATION_TITLE = /verification/i;
const EMAIL_FIELD = 'input[type="email"], #username, input[name="email"]';
const PASSWORD_FIELD = 'input[type="password"], #password';
const POLL_MS = 500;

/**
 * Signs an account in through a real Chromium and keeps its browser profile: the token
 * appearing in the page's localStorage is the sign of success, whichever way the user signed
 * in. The profile is prepared under a temporary name and moved to the account's directory
 * once the token says which account it is.
 */
export async function loginWithBrowser(options: LoginOptions): Promise<LoginResult> {
  const stagingId = `.login-${randomBytes(6).toString("hex")}`;
  const browser = new AccountBrowser({
    accountId: stagingId,
    dataDir: options.dataDir,
    baseUrl: options.baseUrl,
    headless: options.headless,
    chromiumPath: options.chromiumPath,
    userAgent: options.userAgent,
    poolSize: 1,
  });
  let result: LoginResult | undefined;
  try {
    const context = await browser.context();
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${browser.baseUrl}/auth?action=signin`, { waitUntil: "domcontentloaded" });
    if (options.headless) await fillSignInForm(page, options);
    else
      options.onStatus?.(
        "Sign in to chat.qwen.ai in the browser window; it closes by itself once you are in.",
      );
    const { token, email } = await waitForToken(page, options);
    await browser.saveState();
    result = { accountId: accountIdFor(token), token, email };
  } finally {
    await browser.close();
    // Kept under the account's name on success; a failed attempt leaves nothing behind.
    moveProfile(options.dataDir, stagingId, result?.accountId);
  }
  if (!result) throw new LoginError("no-token", "The sign-in ended without a session");
  return result;
}

async function fillSignInForm(page: Page, options: LoginOptions): Promise<void> {
  if (!options.email || !options.password) {
    throw new LoginError(
      "credentials",
      "A headless login needs --email and --password (or QWEN_EMAIL/QWEN_PASSWORD)",
    );
  }
  await throwIfVerification(page);
  await page.locator(EMAIL_FIELD).first().fill(options.email, { timeout: 15_000 });
  await page.locator(PASSWORD_FIELD).first().fill(options.password);
  await page.locator(PASSWORD_FIELD).first().press("Enter");
}

async function waitForToken(page: Page, options: LoginOptions): Promise<{ token: string; email?: string }> {
  const deadline = Date.now() + (options.timeoutMs ?? (options.headless ? 60_000 : 10 * 60_000));
  let userIsDone = false;
  void options.userDone?.then(() => {
    userIsDone = true;
  });
  let verificationShown = false;
  for (;;) {
    const found = await readLogin(page);
    if (found.token) return { token: found.token, email: found.email };
    if (found.verification) {
      if (options.headless) throw verificationError();
      if (!verificationShown) options.onStatus?.("The site shows a verification: solve it in the window.");
      verificationShown = true;
    }
    if (options.headless && found.error) {
      throw new LoginError("credentials", `The site refused the sign-in: ${found.error}`);
    }
    if (userIsDone)
      throw new LoginError("no-token", "You pressed Enter, but the page holds no signed-in session yet");
    if (Date.now() > deadline) throw new LoginError("timeout", "The sign-in did not finish in time");
    await page.waitForTimeout(POLL_MS);
  }
}

interface LoginSnapshot {
  token?: string;
  email?: string;
  verification: boolean;
  error?: string;
}

/** Reads the page without failing while it navigates (a sign-in moves from page to page). */
async function readLogin(page: Page): Promise<LoginSnapshot> {
  try {
    const title = await page.title();
    const state = await page.evaluate(() => {
      const storage = (globalThis as { localStorage?: { getItem(key: string): string | null } }).localStorage;
      const document = (
        globalThis as {
          document?: { querySelector(selector: string): { textContent: string | null } | null };
        }
      ).document;
      return {
        token: storage?.getItem("token") ?? null,
        userInfo: storage?.getItem("user_info") ?? null,
        error: document?.querySelector(".login-error")?.textContent ?? null,
      };
    });
    let email: string | undefined;
    try {
      email = (JSON.parse(state.userInfo ?? "null") as { email?: string } | null)?.email;
    } catch {
      email = undefined;
    }
    return {
      token: state.token?.trim() || undefined,
      email,
      verification: VERIFICATION_TITLE.test(title),
      error: state.error?.trim() || undefined,
    };
  } catch {
    return { verification: false };
  }
}

async function throwIfVerification(page: Page): Promise<void> {
  if (VERIFICATION_TITLE.test(await page.title())) throw verificationError();
}

function verificationError(): LoginError {
  return new LoginError(
    "verification",
    "The site asks for a human verification (captcha): log in with a visible browser, `npm start -- login`, on a machine with a display",
  );
}

/** The staging profile becomes the account's profile; an older one of that account is replaced. */
function moveProfile(dataDir: string, stagingId: string, accountId: string | undefined): void {
  const accounts = join(dataDir, "accounts");
  const staging = join(accounts, stagingId);
  if (!accountId) {
    rmSync(staging, { recursive: true, force: true });
    return;
  }
  const target = join(accounts, accountId);
  mkdirSync(target, { recursive: true, mode: 0o700 });
  for (const entry of ["profile", "storage-state.json"]) {
    const from = join(staging, entry);
    if (!existsSync(from)) continue;
    rmSync(join(target, entry), { recursive: true, force: true });
    renameSync(from, join(target, entry));
  }
  rmSync(staging, { recursive: true, force: true });
}
