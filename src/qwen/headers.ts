import { randomUUID } from "node:crypto";
import type { BrowserIdentity } from "./browser-identity.js";
import { cookieHeader, type QwenCredentials } from "./credentials.js";

export interface HeaderOptions {
  identity: BrowserIdentity;
  /** Absent for the few public calls (model list, sign-in). */
  credentials?: QwenCredentials;
  baseUrl: string;
  /** Path of the page the SPA would be on, e.g. `/c/<chat id>`. */
  refererPath?: string;
  accept?: "json" | "stream";
  hasJsonBody?: boolean;
  now?: Date;
}

/**
 * The headers the web app sends (protocol notes §2.4). A fresh `x-request-id` every time:
 * upstream's WAF started requiring one in 2026-06.
 */
export function buildHeaders(options: HeaderOptions): Record<string, string> {
  const { identity, credentials, baseUrl } = options;
  const origin = new URL(baseUrl).origin;
  const headers: Record<string, string> = {
    accept: options.accept === "stream" ? "text/event-stream" : "application/json, text/plain, */*",
    "accept-encoding": "gzip, deflate, br",
    "accept-language": identity.acceptLanguage,
    origin,
    referer: `${origin}${options.refererPath ?? "/"}`,
    "user-agent": identity.userAgent,
    source: "web",
    version: identity.spaVersion,
    "bx-v": identity.bxVersion,
    "x-request-id": randomUUID(),
    timezone: browserTimezone(options.now ?? new Date()),
    "sec-ch-ua": identity.secChUa,
    "sec-ch-ua-mobile": "?0",
    "sec-ch-ua-platform": identity.platform,
    "sec-fetch-dest": "empty",
    "sec-fetch-mode": "cors",
    "sec-fetch-site": "same-origin",
  };
  if (options.hasJsonBody) headers["content-type"] = "application/json";
  if (options.accept === "stream") headers["x-accel-buffering"] = "no";
  if (credentials) {
    headers.authorization = `Bearer ${credentials.token}`;
    headers.cookie = cookieHeader(credentials);
    for (const [name, value] of Object.entries(credentials.extraHeaders ?? {})) {
      headers[name.toLowerCase()] = value;
    }
  }
  return headers;
}

/**
 * The browser's `Date.toString()`, as the web app sends it. Header values must be ASCII, and
 * the zone name in parentheses is localised on some systems, so it is left out.
 */
export function browserTimezone(now: Date): string {
  return now
    .toString()
    .replace(/\s*\(.*\)\s*$/, "")
    .replace(/[^\x20-\x7e]/g, "");
}
