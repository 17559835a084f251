import { asNumber, isRecord } from "./json-shape.js";

/** The payload of a JWT, without verifying it (only upstream can). Undefined if not a JWT. */
export function decodeJwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    return isRecord(payload) ? payload : undefined;
  } catch {
    return undefined;
  }
}

/** When the token stops working, from its `exp` claim (about 30 days after sign-in). */
export function tokenExpiry(token: string): Date | undefined {
  const exp = asNumber(decodeJwtPayload(token)?.exp);
  return exp === undefined ? undefined : new Date(exp * 1000);
}

/** True when the token's `exp` is in the past (or within `marginMs` of now). */
export function isTokenExpired(token: string, now = Date.now(), marginMs = 0): boolean {
  const expiry = tokenExpiry(token);
  return expiry !== undefined && expiry.getTime() - marginMs <= now;
}
