import { randomUUID } from "node:crypto";
import { type AccountRecord, sha256Hex } from "../fake-state.js";
import { sendJson, sendUnauthorized } from "../http-replies.js";
import { isRecord, parseJsonObject, type RequestContext } from "../request-context.js";

// Login and token validation (§1.2, §2.2). The password must arrive as the lowercase hex
// SHA-256 of the plaintext; the plaintext itself is rejected like a wrong password.

export function handleSignin(context: RequestContext): void {
  const body = parseJsonObject(context.rawBody);
  if (!body || typeof body.email !== "string" || typeof body.password !== "string") {
    sendJson(context.response, 400, { detail: "email and password are required" });
    return;
  }
  const account = context.state.findAccountByEmail(body.email);
  if (!account) {
    sendJson(context.response, 400, { detail: "not registered" });
    return;
  }
  if (body.password !== sha256Hex(account.password)) {
    sendJson(context.response, 400, { detail: "incorrect" });
    return;
  }
  const token = context.state.issueToken(account.id);
  const expiresAt = Math.floor(Date.now() / 1000) + 30 * 24 * 3600;
  sendJson(
    context.response,
    200,
    { ...userPayload(account), token, token_type: "Bearer", expires_at: expiresAt, permissions: {} },
    { "set-cookie": `token=${token}; Path=/; Max-Age=${30 * 24 * 3600}; SameSite=Lax` },
  );
}

export function handleCurrentUser(context: RequestContext): void {
  const account = context.auth.accountId ? context.state.accounts.get(context.auth.accountId) : undefined;
  if (!account) {
    sendUnauthorized(context.response, "Not authenticated");
    return;
  }
  sendJson(context.response, 200, {
    ...userPayload(account),
    token: context.auth.token,
    token_type: "Bearer",
  });
}

/** Without the trailing slash the real route answers 401 even for a valid token. */
export function handleCurrentUserWithoutSlash(context: RequestContext): void {
  sendUnauthorized(context.response, "Not authenticated");
}

/** Retired in mid-2026: every request now gets the same "not found" business error. */
export function handleRetiredUserRoute(context: RequestContext): void {
  sendJson(context.response, 200, {
    success: false,
    request_id: randomUUID(),
    data: { code: "not found", details: "Not Found" },
  });
}

export function handleMemoriesDelete(context: RequestContext): void {
  const body = parseJsonObject(context.rawBody);
  const ok = isRecord(body) && body.forget_all === true;
  sendJson(context.response, 200, { success: ok, request_id: randomUUID(), data: { status: ok } });
}

function userPayload(account: AccountRecord): Record<string, unknown> {
  return {
    id: account.id,
    email: account.email,
    name: account.name,
    role: "user",
    profile_image_url: "/user.png",
  };
}
