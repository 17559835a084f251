import { existsSync } from "node:fs";
import { join } from "node:path";

/** No Chromium to drive: the message says how to install one and how to point at it. */
export class BrowserUnavailableError extends Error {
  override readonly name = "BrowserUnavailableError";
}

export interface FindChromiumOptions {
  environment?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  /** Seam for tests; the real file system otherwise. */
  exists?: (path: string) => boolean;
}

/**
 * The Chromium or Chrome binary to drive. npm browser downloads are not used (they are often
 * impossible behind proxies and in CI), so this looks for a browser the system already has:
 * the explicit path, then `CHROMIUM_PATH`, then the usual install locations.
 */
export function findChromium(explicitPath?: string, options: FindChromiumOptions = {}): string {
  const environment = options.environment ?? process.env;
  const platform = options.platform ?? process.platform;
  const exists = options.exists ?? existsSync;

  const chosen = explicitPath?.trim() || environment.CHROMIUM_PATH?.trim();
  if (chosen) {
    if (exists(chosen)) return chosen;
    // A path the user named but that is missing is a mistake to report, not to paper over.
    throw new BrowserUnavailableError(
      `Chromium was not found at ${chosen} (from ${explicitPath?.trim() ? "the given path" : "CHROMIUM_PATH"}). ${installHint(platform)}`,
    );
  }
  for (const candidate of candidatePaths(platform, environment)) {
    if (exists(candidate)) return candidate;
  }
  throw new BrowserUnavailableError(`No Chromium or Chrome was found. ${installHint(platform)}`);
}

function candidatePaths(platform: NodeJS.Platform, environment: NodeJS.ProcessEnv): string[] {
  if (platform === "darwin") {
    const applications = ["/Applications", join(environment.HOME ?? "", "Applications")];
    return applications.flatMap((folder) => [
      `${folder}/Google Chrome.app/Contents/MacOS/Google Chrome`,
      `${folder}/Chromium.app/Contents/MacOS/Chromium`,
      `${folder}/Google Chrome Canary.app/Contents/MacOS/Google Chrome Canary`,
    ]);
  }
  if (platform === "win32") {
    const roots = [
      environment.PROGRAMFILES,
      environment["PROGRAMFILES(X86)"],
      environment.LOCALAPPDATA,
    ].filter((root): root is string => Boolean(root));
    return roots.flatMap((root) => [
      `${root}\\Google\\Chrome\\Application\\chrome.exe`,
      `${root}\\Chromium\\Application\\chrome.exe`,
    ]);
  }
  return [
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
    "/snap/bin/chromium",
    "/usr/local/bin/chromium",
  ];
}

function installHint(platform: NodeJS.Platform): string {
  const install =
    platform === "darwin"
      ? "Install it with `brew install --cask chromium` (or install Google Chrome)"
      : platform === "win32"
        ? "Install Google Chrome from https://www.google.com/chrome/"
        : "Install it with `sudo apt-get install -y chromium` (Debian/Ubuntu) or your distribution's chromium package";
  return `${install}, or set CHROMIUM_PATH to the browser binary.`;
}
