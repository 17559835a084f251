import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { BrowserContext } from "playwright-core";

// The project compiles without the DOM library; this runs in the page, where it exists.
declare const localStorage: {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
};

/** Cookies and localStorage of a context, as Playwright's `storageState()` returns them. */
export type StorageState = Awaited<ReturnType<BrowserContext["storageState"]>>;
type StoredCookie = StorageState["cookies"][number];
type StoredOrigin = StorageState["origins"][number];

/**
 * Writes the state readable by its owner only (0600, in a 0700 directory): it holds the
 * session token. Written beside and renamed, so a crash never leaves half a file.
 */
export async function writeStorageState(path: string, state: StorageState): Promise<void> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  // mkdir's mode only applies to a directory it creates, and the umask may narrow it anyway.
  await chmod(directory, 0o700);
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The saved state, or undefined when there is none. A malformed file is an error to report. */
export async function readStorageState(path: string): Promise<StorageState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const record = parsed as Partial<StorageState> | null;
  if (!record || typeof record !== "object" || !Array.isArray(record.cookies)) {
    throw new Error(`${path} is not a browser storage state (no cookies array)`);
  }
  return { ...record, cookies: record.cookies, origins: Array.isArray(record.origins) ? record.origins : [] };
}

/**
 * Adds what the saved state has and the context lacks; never overwrites. The live profile is
 * usually newer (the site may have rotated its token since the save), so it wins; the file
 * fills in after a move to another machine, or for session cookies a restart dropped.
 */
export async function restoreStorageState(context: BrowserContext, saved: StorageState): Promise<void> {
  const current = await context.storageState();
  const present = new Set(current.cookies.map(cookieKey));
  const nowSeconds = Date.now() / 1000;
  const missingCookies = saved.cookies.filter(
    (cookie) => !present.has(cookieKey(cookie)) && (cookie.expires === -1 || cookie.expires > nowSeconds),
  );
  if (missingCookies.length > 0) await context.addCookies(missingCookies);

  for (const origin of saved.origins) {
    const known = current.origins.find((entry) => entry.origin === origin.origin);
    const names = new Set(known?.localStorage.map((item) => item.name));
    const missing = origin.localStorage.filter((item) => !names.has(item.name));
    if (missing.length > 0) await fillLocalStorage(context, { origin: origin.origin, localStorage: missing });
  }
}

function cookieKey(cookie: Pick<StoredCookie, "name" | "domain" | "path">): string {
  return `${cookie.name}\u0000${cookie.domain}\u0000${cookie.path}`;
}

/**
 * localStorage can only be written from a page on its origin. A stub document stands in for
 * the origin's own, so none of the site's scripts run and nothing goes over the network.
 */
async function fillLocalStorage(context: BrowserContext, origin: StoredOrigin): Promise<void> {
  const page = await context.newPage();
  try {
    await page.route("**/*", (route) =>
      route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title></title>" }),
    );
    await page.goto(`${origin.origin}/`, { waitUntil: "domcontentloaded" });
    await page.evaluate((items) => {
      for (const { name, value } of items) {
        if (localStorage.getItem(name) === null) localStorage.setItem(name, value);
      }
    }, origin.localStorage);
  } finally {
    await page.close().catch(() => {});
  }
}
