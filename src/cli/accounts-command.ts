import type { Command } from "commander";
import {
  type AccountRecord,
  loadAccountRecords,
  removeAccountRecord,
  saveAccountRecord,
} from "../accounts/account-files.js";
import { accountIdFor } from "../accounts/account-pool.js";
import { readAccountState, type SavedAccountState } from "../accounts/account-state-file.js";
import { loadConfig } from "../config/config.js";
import { parseCookieHeader } from "../qwen/cookie-jar.js";
import { tokenExpiry } from "../qwen/jwt.js";
import { runLogin } from "./login-command.js";

/** `accounts list|add|remove|enable|disable`: the saved accounts, without their secrets. */
export function registerAccountsCommand(program: Command): void {
  const accounts = program.command("accounts").description("manage the saved Qwen accounts");

  accounts
    .command("list", { isDefault: true })
    .description("show the saved accounts")
    .option("--json", "machine-readable output")
    .action((flags: { json?: boolean }) => {
      const { dataDir, qwenTokens } = loadConfig();
      const saved = readAccountState(dataDir);
      const rows = loadAccountRecords(dataDir).map((record) => describe(record, saved[record.id]));
      for (const token of qwenTokens) {
        const record = envRecord(token);
        rows.push(describe(record, saved[record.id]));
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write(
          "No accounts. Add one with `accounts add --token <token>` or set QWEN_TOKENS.\n",
        );
        return;
      }
      printTable(rows);
    });

  accounts
    .command("add")
    .description("save an account from its chat.qwen.ai token (localStorage `token`) or whole Cookie header")
    .option("--token <token>", "the session token (a JWT)")
    .option(
      "--cookie <header>",
      "the whole Cookie header from the browser's DevTools; its `token` is used unless --token is given",
    )
    .option("--label <label>", "a name to recognise the account by")
    .action((flags: { token?: string; cookie?: string; label?: string }) => {
      const { dataDir } = loadConfig();
      const pasted = flags.cookie ? parseCookieHeader(flags.cookie) : undefined;
      const token = (flags.token ?? pasted?.token ?? "").trim();
      if (!token) fail("Give the account's token (--token) or a Cookie header that holds one (--cookie).");
      const expiry = tokenExpiry(token);
      if (!expiry) fail("That does not look like a chat.qwen.ai token (a JWT with an expiry).");
      if (expiry.getTime() <= Date.now()) fail(`That token expired on ${expiry.toISOString()}.`);
      const id = accountIdFor(token);
      const existing = loadAccountRecords(dataDir).find((record) => record.id === id);
      const now = new Date().toISOString();
      const cookies = pasted ? pasted.cookies : existing?.cookies;
      saveAccountRecord(dataDir, {
        ...existing,
        id,
        label: flags.label ?? existing?.label ?? id,
        source: existing?.source ?? "cli",
        token,
        ...(cookies && Object.keys(cookies).length > 0 ? { cookies } : {}),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      });
      const extra = pasted ? `, with ${Object.keys(pasted.cookies).length} more cookies` : "";
      process.stdout.write(
        `${existing ? "Updated" : "Added"} account ${id} (token valid until ${expiry.toISOString()}${extra}).\n`,
      );
    });

  accounts
    .command("remove <id>")
    .description("forget a saved account (and its browser profile)")
    .action((id: string) => {
      const { dataDir } = loadConfig();
      if (!removeAccountRecord(dataDir, id)) fail(`No saved account ${id}.`);
      process.stdout.write(`Removed account ${id}.\n`);
    });

  accounts
    .command("relogin <id>")
    .description("sign a saved account in again (a window; --headless with --email/--password)")
    .option("--headless", "fill the sign-in form without a window")
    .option("--email <email>", "e-mail for a headless sign-in")
    .option("--password <password>", "password for a headless sign-in")
    .action(async (id: string, flags: { headless?: boolean; email?: string; password?: string }) => {
      const config = loadConfig();
      const record = loadAccountRecords(config.dataDir).find((item) => item.id === id);
      if (!record) fail(`No saved account ${id}.`);
      try {
        const signedIn = await runLogin(config, {
          account: record.label,
          headless: flags.headless,
          email: flags.email ?? record.email,
          password: flags.password,
        });
        if (signedIn !== id) {
          process.stderr.write(
            `Note: that sign-in was another Qwen account (${signedIn}); it was saved as such.\n`,
          );
        }
      } catch (error) {
        fail(`Login failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });

  for (const [name, disabled] of [
    ["enable", false],
    ["disable", true],
  ] as const) {
    accounts
      .command(`${name} <id>`)
      .description(`${name} a saved account`)
      .action((id: string) => {
        const { dataDir } = loadConfig();
        const record = loadAccountRecords(dataDir).find((item) => item.id === id);
        if (!record) fail(`No saved account ${id}.`);
        saveAccountRecord(dataDir, { ...record, disabled, updatedAt: new Date().toISOString() });
        process.stdout.write(`Account ${id} ${disabled ? "disabled" : "enabled"}.\n`);
      });
  }
}

function envRecord(token: string): AccountRecord {
  const id = accountIdFor(token);
  return { id, label: id, source: "env", token, createdAt: "", updatedAt: "" };
}

interface Row {
  id: string;
  label: string;
  source: string;
  state: string;
  unavailableUntil: string | null;
  tokenExpiresAt: string | null;
  requestsToday: number;
  lastError: string | null;
  email: string | null;
}

/** The saved record with what the server last knew of it (limits, errors, today's count). */
function describe(record: AccountRecord, live: SavedAccountState | undefined): Row {
  const expiry = tokenExpiry(record.token);
  const expired = expiry !== undefined && expiry.getTime() <= Date.now();
  const parked = live?.unavailableUntil !== undefined && live.unavailableUntil > Date.now();
  const today = new Date();
  const day = `${today.getFullYear()}-${today.getMonth() + 1}-${today.getDate()}`;
  const stuck = live?.state === "needs_verification" || live?.state === "expired";
  const lastKnown = live && (parked || stuck) ? live.state : "ok";
  return {
    id: record.id,
    label: record.label,
    source: record.source,
    state: record.disabled ? "disabled" : expired ? "expired" : lastKnown,
    unavailableUntil: parked && live?.unavailableUntil ? new Date(live.unavailableUntil).toISOString() : null,
    tokenExpiresAt: expiry ? expiry.toISOString() : null,
    requestsToday: live?.day === day ? live.requestsToday : 0,
    lastError: live?.lastError ?? null,
    email: record.email ?? null,
  };
}

function printTable(rows: Row[]): void {
  const headers = ["ID", "LABEL", "SOURCE", "STATE", "TOKEN EXPIRES", "TODAY", "LAST ERROR"];
  const cells = rows.map((row) => [
    row.id,
    row.label,
    row.source,
    row.unavailableUntil ? `${row.state} until ${row.unavailableUntil}` : row.state,
    row.tokenExpiresAt ?? "-",
    String(row.requestsToday),
    (row.lastError ?? "-").slice(0, 60),
  ]);
  const widths = headers.map((header, index) =>
    Math.max(header.length, ...cells.map((cell) => cell[index]!.length)),
  );
  const line = (values: string[]) => values.map((value, index) => value.padEnd(widths[index]!)).join("  ");
  process.stdout.write(`${[line(headers), ...cells.map(line)].join("\n")}\n`);
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
