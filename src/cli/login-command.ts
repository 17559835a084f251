import { createInterface } from "node:readline";
import type { Command } from "commander";
import { encryptSecret, loadAccountRecords, saveAccountRecord } from "../accounts/account-files.js";
import { signInWithPassword } from "../accounts/password-sign-in.js";
import { LoginError, loginWithBrowser } from "../browser/login.js";
import { type Config, loadConfig } from "../config/config.js";
import { tokenExpiry } from "../qwen/jwt.js";

export interface LoginFlags {
  account?: string;
  headless?: boolean;
  email?: string;
  password?: string;
  rememberPassword?: boolean;
}

/** A window can be shown: always on macOS and Windows, with X11 or Wayland on Linux. */
export function hasDisplay(environment: NodeJS.ProcessEnv = process.env): boolean {
  if (process.platform === "darwin" || process.platform === "win32") return true;
  return Boolean(environment.DISPLAY || environment.WAYLAND_DISPLAY);
}

const NO_DISPLAY_HELP = `This machine has no display for a browser window. Ways to add an account:
  1. Sign in with e-mail and password, headless:
       npm start -- login --headless --email you@example.com --password '...'
     (or set QWEN_EMAIL and QWEN_PASSWORD). A captcha cannot be solved this way.
  2. Log in on a machine with a display (npm start -- login), then copy its data
     directory (DATA_DIR, default ./data) here.
  3. Paste a token: sign in at chat.qwen.ai, DevTools -> Application -> Local Storage ->
     token, then: npm start -- accounts add --token <token>  (or set QWEN_TOKENS).`;

export function registerLoginCommand(program: Command): void {
  program
    .command("login")
    .description("sign a Qwen account in through Chromium and save it")
    .option("--account <name>", "a name for the account")
    .option("--headless", "fill the sign-in form without a window (needs --email and --password)")
    .option("--email <email>", "e-mail for a headless sign-in (QWEN_EMAIL)")
    .option("--password <password>", "password for a headless sign-in (QWEN_PASSWORD)")
    .option("--remember-password", "keep the password, encrypted, to sign in again when the session ends")
    .action(async (flags: LoginFlags) => {
      try {
        await runLogin(loadConfig(), flags);
      } catch (error) {
        process.stderr.write(`Login failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      }
    });
}

/** Signs in and saves the account; returns its id. */
export async function runLogin(config: Config, flags: LoginFlags): Promise<string> {
  const email = flags.email ?? process.env.QWEN_EMAIL;
  const password = flags.password ?? process.env.QWEN_PASSWORD;
  const headless = flags.headless === true || (!hasDisplay() && Boolean(email && password));
  if (!headless && !hasDisplay()) throw new Error(`\n${NO_DISPLAY_HELP}`);
  const say = (message: string) => process.stderr.write(`${message}\n`);
  say(
    headless
      ? `Signing in to ${config.qwenBaseUrl} as ${email}…`
      : `A Chromium window opens at ${config.qwenBaseUrl}. Sign in there; it is detected by itself (or press Enter when done).`,
  );
  const input = !headless && process.stdin.isTTY ? createInterface({ input: process.stdin }) : undefined;
  const userDone = input ? new Promise<void>((resolve) => input.once("line", () => resolve())) : undefined;
  try {
    const result =
      headless && email && password
        ? await signInWithPassword({
            baseUrl: config.qwenBaseUrl,
            dataDir: config.dataDir,
            email,
            password,
            userAgent: config.userAgent,
            onStatus: say,
          })
        : await loginWithBrowser({
            baseUrl: config.qwenBaseUrl,
            dataDir: config.dataDir,
            headless,
            email,
            password,
            userAgent: config.userAgent,
            onStatus: say,
            userDone,
          });
    const existing = loadAccountRecords(config.dataDir).find((record) => record.id === result.accountId);
    const now = new Date().toISOString();
    saveAccountRecord(config.dataDir, {
      ...existing,
      id: result.accountId,
      label: flags.account ?? existing?.label ?? result.email ?? email ?? result.accountId,
      source: "browser",
      token: result.token,
      email: result.email ?? email ?? existing?.email,
      encryptedPassword:
        flags.rememberPassword && password
          ? encryptSecret(config.dataDir, password)
          : existing?.encryptedPassword,
      disabled: false,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    });
    const expiry = tokenExpiry(result.token);
    say(
      `Signed in: account ${result.accountId}${expiry ? `, session valid until ${expiry.toISOString()}` : ""}.`,
    );
    return result.accountId;
  } catch (error) {
    if (error instanceof LoginError && error.reason === "verification" && !hasDisplay()) {
      throw new Error(`${error.message}\n\n${NO_DISPLAY_HELP}`);
    }
    throw error;
  } finally {
    input?.close();
  }
}

/**
 * The first `npm start` with no account: at a terminal with a display, sign in right away;
 * without a display, say what the options are. The server starts either way.
 */
export async function loginOnFirstRun(config: Config): Promise<void> {
  if (config.qwenTokens.length > 0 || loadAccountRecords(config.dataDir).length > 0) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) return;
  if (!hasDisplay()) {
    process.stderr.write(`No Qwen account yet.\n${NO_DISPLAY_HELP}\n\n`);
    return;
  }
  process.stderr.write("No Qwen account yet: let's sign one in.\n");
  try {
    await runLogin(config, {});
  } catch (error) {
    process.stderr.write(
      `Login did not finish (${error instanceof Error ? error.message : String(error)}); starting without an account.\n`,
    );
  }
}
