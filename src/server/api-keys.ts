import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";

/**
 * The key a client presented: `Authorization: Bearer <key>` (OpenAI clients) or
 * `x-api-key` (Anthropic clients).
 */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers["x-api-key"];
  if (typeof header === "string" && header !== "") return header;
  const authorization = request.headers.authorization;
  const match = typeof authorization === "string" ? /^Bearer\s+(.+)$/i.exec(authorization.trim()) : null;
  return match?.[1];
}

/**
 * Compares in constant time: digests make the lengths equal, and every key is compared even
 * after a match, so timing tells nothing about which keys exist.
 */
export function keyMatches(presented: string | undefined, keys: readonly string[]): boolean {
  if (presented === undefined) return false;
  const digest = createHash("sha256").update(presented).digest();
  let matched = false;
  for (const key of keys) {
    const equal = timingSafeEqual(digest, createHash("sha256").update(key).digest());
    matched = matched || equal;
  }
  return matched;
}
