import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

// What the fake shows to a real browser rather than to an API client: the switches for the
// anti-bot wall and the verification interstitial, and the clearance cookie that lets a
// browser through the wall (§2.5, §2.6). The clearance value is an HMAC over a per-instance
// secret, so the only way to obtain one is to load a page and run its script.

export const clearanceCookieName = "acw_sc__v3";
export const clearanceLifetimeSeconds = 30 * 60;

export class BrowserSurface {
  botWallEnabled = false;
  verificationEnabled = false;
  /** HTML pages served (sign-in, chat shell or verification), for tests that count reloads. */
  pageLoads = 0;
  private readonly secret = randomBytes(32);
  /** Part of every signature: bumping it expires every clearance handed out so far. */
  private generation = 0;

  issueClearance(nowMilliseconds = Date.now()): string {
    // A random part keeps two loads within one millisecond from sharing a value.
    const stamp = `${nowMilliseconds.toString(36)}-${randomBytes(4).toString("hex")}`;
    return `${stamp}.${this.sign(stamp)}`;
  }

  isClearanceValid(value: string | undefined, nowMilliseconds = Date.now()): boolean {
    if (!value) return false;
    const separator = value.indexOf(".");
    if (separator <= 0) return false;
    const stamp = value.slice(0, separator);
    const issuedAtMilliseconds = Number.parseInt(stamp.split("-")[0] ?? "", 36);
    if (!Number.isSafeInteger(issuedAtMilliseconds)) return false;
    const age = nowMilliseconds - issuedAtMilliseconds;
    // A little tolerance for a future timestamp: the value is minted and checked by one clock.
    if (age < -1000 || age > clearanceLifetimeSeconds * 1000) return false;
    const expected = Buffer.from(this.sign(stamp), "utf8");
    const received = Buffer.from(value.slice(separator + 1), "utf8");
    return received.length === expected.length && timingSafeEqual(received, expected);
  }

  invalidateClearance(): void {
    this.generation += 1;
  }

  /** True when the bot wall is up, guards this path and the clearance is missing or stale. */
  blocks(path: string, clearance: string | undefined): boolean {
    return this.botWallEnabled && this.guards(path) && !this.isClearanceValid(clearance);
  }

  /**
   * Direct API requests the wall stops when it is up: everything under /api/v2/ except the
   * model list, which the protocol document saw still answering JSON to plain clients.
   * Unknown /api/v2/ paths are included because a WAF sits in front of routing.
   */
  guards(path: string): boolean {
    return path.startsWith("/api/v2/") && !/^\/api\/v2\/models\/?$/.test(path);
  }

  private sign(stamp: string): string {
    return createHmac("sha256", this.secret).update(`${this.generation}:${stamp}`).digest("hex");
  }
}
