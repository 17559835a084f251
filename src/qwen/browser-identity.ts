/**
 * What the proxy claims to be. Upstream checks the SPA build (`version`) and the anti-bot SDK
 * version (`bx-v`) and rejects stale values, and both move every few weeks, so every field is
 * configurable; the defaults are the newest values the protocol notes have seen.
 */
export interface BrowserIdentity {
  /** The web app build id sent as the `version` header (0.2.83 as of 2026-08). */
  spaVersion: string;
  /** Baxia SDK version, sent as `bx-v`. */
  bxVersion: string;
  userAgent: string;
  acceptLanguage: string;
  /** `sec-ch-ua` brand list matching the user agent. */
  secChUa: string;
  /** `sec-ch-ua-platform`, quoted as browsers send it. */
  platform: string;
}

export const DEFAULT_IDENTITY: BrowserIdentity = Object.freeze({
  spaVersion: "0.2.83",
  bxVersion: "2.5.36",
  userAgent:
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/149.0.0.0 Safari/537.36",
  acceptLanguage: "en-US,en;q=0.9",
  secChUa: '"Chromium";v="149", "Google Chrome";v="149", "Not.A/Brand";v="99"',
  platform: '"Windows"',
});

export function resolveIdentity(overrides: Partial<BrowserIdentity> = {}): BrowserIdentity {
  const identity = { ...DEFAULT_IDENTITY };
  for (const [key, value] of Object.entries(overrides) as [keyof BrowserIdentity, string | undefined][]) {
    if (value) identity[key] = value;
  }
  return identity;
}
