import { describe, expect, it } from "vitest";
import { CHROMIUM_PATH, hasChromium } from "../../testing/browser-harness.js";
import {
  browserUserAgent,
  chromiumMajorVersion,
  majorVersionOf,
  userAgentFor,
} from "./browser-user-agent.js";

describe("the browser's user agent", () => {
  it("reads the major version from what Chromium and Chrome print", () => {
    expect(majorVersionOf("Chromium 156.0.8078.108 built on Debian GNU/Linux 13 (trixie)\n")).toBe("156");
    expect(majorVersionOf("Google Chrome 149.0.7000.12 \n")).toBe("149");
    expect(majorVersionOf("")).toBeUndefined();
    expect(majorVersionOf("something else 1.2")).toBeUndefined();
  });

  it("names the real system in Chrome's reduced form", () => {
    expect(userAgentFor("156", "linux")).toBe(
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
    );
    expect(userAgentFor("150", "win32")).toContain("(Windows NT 10.0; Win64; x64)");
    expect(userAgentFor("150", "darwin")).toContain("(Macintosh; Intel Mac OS X 10_15_7)");
  });

  it("prefers the configured one, and falls back when the binary says nothing", async () => {
    expect(await browserUserAgent("/nonexistent/chrome", "Configured/1.0", "Fallback/1.0")).toBe(
      "Configured/1.0",
    );
    expect(await browserUserAgent("/nonexistent/chrome", undefined, "Fallback/1.0")).toBe("Fallback/1.0");
  });

  it.skipIf(!hasChromium)("asks the installed Chromium for its version", async () => {
    const major = await chromiumMajorVersion(CHROMIUM_PATH);
    expect(major).toMatch(/^\d{2,4}$/);
  });
});
