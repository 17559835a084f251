import { createHmac, timingSafeEqual } from "node:crypto";

// Real HS256 JWTs, so that clients which decode `exp` from the payload (for refresh
// scheduling) work against the fake exactly as against chat.qwen.ai.

export type JwtVerification =
  | { ok: true; payload: Record<string, unknown> }
  | { ok: false; reason: "malformed" | "signature" | "expired" };

const encodedHeader = base64UrlEncode(JSON.stringify({ alg: "HS256", typ: "JWT" }));

export function signJwt(payload: Record<string, unknown>, secret: Buffer): string {
  const signingInput = `${encodedHeader}.${base64UrlEncode(JSON.stringify(payload))}`;
  return `${signingInput}.${hmac(signingInput, secret).toString("base64url")}`;
}

export function verifyJwt(token: string, secret: Buffer, nowSeconds: number): JwtVerification {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "malformed" };
  const [header, payloadPart, signature] = parts as [string, string, string];
  const payload = decodeJsonPart(payloadPart);
  if (decodeJsonPart(header) === null || payload === null) return { ok: false, reason: "malformed" };
  const expected = hmac(`${header}.${payloadPart}`, secret);
  const received = Buffer.from(signature, "base64url");
  if (received.length !== expected.length || !timingSafeEqual(received, expected)) {
    return { ok: false, reason: "signature" };
  }
  if (typeof payload.exp !== "number" || payload.exp <= nowSeconds) return { ok: false, reason: "expired" };
  return { ok: true, payload };
}

function hmac(input: string, secret: Buffer): Buffer {
  return createHmac("sha256", secret).update(input).digest();
}

function base64UrlEncode(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

function decodeJsonPart(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
