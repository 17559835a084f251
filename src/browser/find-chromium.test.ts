import { describe, expect, it } from "vitest";
import { BrowserUnavailableError, findChromium } from "./find-chromium.js";

const only =
  (...present: string[]) =>
  (path: string) =>
    present.includes(path);

describe("findChromium", () => {
  it("prefers the explicit path, then CHROMIUM_PATH, then the usual places", () => {
    const exists = only("/opt/chrome", "/env/chromium", "/usr/bin/chromium", "/usr/bin/google-chrome");
    const environment = { CHROMIUM_PATH: "/env/chromium" };
    expect(findChromium("/opt/chrome", { environment, platform: "linux", exists })).toBe("/opt/chrome");
    expect(findChromium(undefined, { environment, platform: "linux", exists })).toBe("/env/chromium");
    expect(findChromium(undefined, { environment: {}, platform: "linux", exists })).toBe("/usr/bin/chromium");
    expect(
      findChromium(undefined, {
        environment: {},
        platform: "linux",
        exists: only("/usr/bin/google-chrome-stable"),
      }),
    ).toBe("/usr/bin/google-chrome-stable");
  });

  it("knows the macOS and Windows install locations", () => {
    expect(
      findChromium(undefined, {
        environment: {},
        platform: "darwin",
        exists: only("/Applications/Chromium.app/Contents/MacOS/Chromium"),
      }),
    ).toBe("/Applications/Chromium.app/Contents/MacOS/Chromium");
    expect(
      findChromium(undefined, {
        environment: { PROGRAMFILES: "C:\\Program Files" },
        platform: "win32",
        exists: only("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"),
      }),
    ).toBe("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe");
  });

  it("names the install command for the platform and CHROMIUM_PATH when nothing is found", () => {
    const none = () => false;
    const attempt = (platform: NodeJS.Platform, explicit?: string) => {
      try {
        findChromium(explicit, { environment: {}, platform, exists: none });
      } catch (error) {
        return error as Error;
      }
      throw new Error("expected a failure");
    };
    const linux = attempt("linux");
    expect(linux).toBeInstanceOf(BrowserUnavailableError);
    expect(linux.message).toContain("sudo apt-get install -y chromium");
    expect(linux.message).toContain("CHROMIUM_PATH");
    expect(attempt("darwin").message).toContain("brew install --cask chromium");
    expect(attempt("win32").message).toContain("Chrome");
    // A path the user gave that does not exist is reported, not silently replaced.
    expect(attempt("linux", "/nowhere/chrome").message).toContain("/nowhere/chrome");
  });
});
