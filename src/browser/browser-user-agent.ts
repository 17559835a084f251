import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

// The user agent a browser context claims. Chromium's own client hints (`sec-ch-ua`, its
// platform) always tell its real major version, so a claimed user agent that names another
// version or system is a mismatch a bot wall can see, and headless Chromium's own user agent
// says "HeadlessChrome". What looks like an ordinary browser is the binary's real version on
// the real system, in the reduced form Chrome sends: `Chrome/<major>.0.0.0`.

const versionCache = new Map<string, Promise<string | undefined>>();

/** The user agent of an ordinary, headed Chrome of this binary's major version on this system. */
export function userAgentFor(majorVersion: string, platform: NodeJS.Platform = process.platform): string {
  return `Mozilla/5.0 (${systemToken(platform)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${majorVersion}.0.0.0 Safari/537.36`;
}

function systemToken(platform: NodeJS.Platform): string {
  if (platform === "win32") return "Windows NT 10.0; Win64; x64";
  if (platform === "darwin") return "Macintosh; Intel Mac OS X 10_15_7";
  return "X11; Linux x86_64";
}

/** Reads "Chromium 156.0.8078.108 built on Debian…" or "Google Chrome 156.0.8078.108" → "156". */
export function majorVersionOf(text: string): string | undefined {
  return /\b(\d{2,4})\.\d+\.\d+\.\d+\b/.exec(text)?.[1];
}

/**
 * The binary's major version: `--version` where it prints one; on Windows, where chrome.exe
 * prints nothing, the version-named folder beside it. Undefined when neither says.
 */
export function chromiumMajorVersion(executablePath: string): Promise<string | undefined> {
  let cached = versionCache.get(executablePath);
  if (!cached) {
    cached = readMajorVersion(executablePath);
    versionCache.set(executablePath, cached);
  }
  return cached;
}

async function readMajorVersion(executablePath: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(executablePath, ["--version"], { timeout: 10_000, windowsHide: true });
    const version = majorVersionOf(stdout);
    if (version) return version;
  } catch {
    // Falls through to the folder beside the binary.
  }
  try {
    for (const entry of readdirSync(dirname(executablePath))) {
      const version = /^(\d{2,4})\.\d+\.\d+\.\d+$/.exec(entry)?.[1];
      if (version) return version;
    }
  } catch {
    // Nothing more to look at.
  }
  return undefined;
}

/**
 * The user agent for a context of this binary: the configured one when the user chose one,
 * else an ordinary Chrome of the binary's real version, else `fallback`.
 */
export async function browserUserAgent(
  executablePath: string,
  configured: string | undefined,
  fallback: string,
): Promise<string> {
  if (configured) return configured;
  const major = await chromiumMajorVersion(executablePath);
  return major ? userAgentFor(major) : fallback;
}
