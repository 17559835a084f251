import { createHash, createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "./index.js";
import { postJson } from "./test-support.js";

interface WireModel {
  id: string;
  info: {
    is_active: boolean;
    meta: { capabilities: Record<string, boolean>; abilities: Record<string, number>; chat_type: string[] };
  };
}

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

describe("fake-qwen authentication", () => {
  let fake: FakeQwen;
  let account: ReturnType<FakeQwen["addAccount"]>;

  beforeAll(async () => {
    fake = await startFakeQwen({ chunkDelayMs: 0 });
    account = fake.addAccount({ email: "alice@example.com", password: "s3cret", name: "Alice" });
  });
  afterAll(() => fake.close());

  const currentUser = (headers: Record<string, string>, path = "/api/v1/auths/") =>
    fetch(`${fake.url}${path}`, { headers });

  it("signs in only with the lowercase hex SHA-256 of the password", async () => {
    const url = `${fake.url}/api/v1/auths/signin`;
    const ok = await postJson(url, { email: "alice@example.com", password: sha256Hex("s3cret") }, {});
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({
      id: account.id,
      email: "alice@example.com",
      name: "Alice",
      role: "user",
    });
    expect(typeof ok.json.token).toBe("string");
    expect((await currentUser({ authorization: `Bearer ${ok.json.token}` })).status).toBe(200);

    const plaintext = await postJson(url, { email: "alice@example.com", password: "s3cret" }, {});
    expect(plaintext).toMatchObject({ status: 400, json: { detail: "incorrect" } });
    const upper = await postJson(
      url,
      { email: "alice@example.com", password: sha256Hex("s3cret").toUpperCase() },
      {},
    );
    expect(upper).toMatchObject({ status: 400, json: { detail: "incorrect" } });
    const unknown = await postJson(url, { email: "bob@example.com", password: sha256Hex("x") }, {});
    expect(unknown).toMatchObject({ status: 400, json: { detail: "not registered" } });
  });

  it("issues HS256 JWTs whose payload carries id and a ~30 day exp", () => {
    const parts = account.token.split(".");
    expect(parts).toHaveLength(3);
    const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    expect(decode(parts[0] as string)).toMatchObject({ alg: "HS256", typ: "JWT" });
    const payload = decode(parts[1] as string);
    expect(payload.id).toBe(account.id);
    expect(payload.exp - payload.iat).toBe(30 * 24 * 3600);
  });

  it("accepts the bearer header or the token cookie, and needs the trailing slash", async () => {
    const viaBearer = await currentUser({ authorization: `Bearer ${account.token}` });
    expect(viaBearer.status).toBe(200);
    expect(await viaBearer.json()).toMatchObject({
      id: account.id,
      role: "user",
      profile_image_url: expect.any(String),
    });
    const viaCookie = await currentUser({ cookie: `cna=abc; token=${account.token}; ssxmod_itna=x` });
    expect(viaCookie.status).toBe(200);
    const withoutSlash = await currentUser({ authorization: `Bearer ${account.token}` }, "/api/v1/auths");
    expect(withoutSlash.status).toBe(401);
    expect(await withoutSlash.json()).toHaveProperty("detail");
  });

  it("answers 401 JSON for missing, malformed, foreign, expired and revoked tokens", async () => {
    const expired = fake.issueToken(account.id, { expiresInSeconds: -60 });
    const revoked = fake.issueToken(account.id);
    fake.revokeToken(revoked);
    const foreignSignature = forgeToken(account.id);
    const rejectedHeaders: Array<Record<string, string>> = [
      {},
      { authorization: "Bearer not-a-jwt" },
      { authorization: `Bearer ${foreignSignature}` },
      { authorization: `Bearer ${expired}` },
      { cookie: `token=${revoked}` },
    ];
    for (const headers of rejectedHeaders) {
      const response = await currentUser(headers);
      expect(response.status).toBe(401);
      expect(response.headers.get("content-type")).toContain("application/json");
      expect(typeof ((await response.json()) as { detail: unknown }).detail).toBe("string");
    }
    const expiredBody = await (await currentUser({ authorization: `Bearer ${expired}` })).json();
    expect(expiredBody).toEqual({ detail: "Token has expired" });
    // Revoking one token leaves the account's other tokens working.
    expect((await currentUser({ authorization: `Bearer ${account.token}` })).status).toBe(200);
  });

  it("keeps /api/v2/user retired", async () => {
    const response = await currentUser({ authorization: `Bearer ${account.token}` }, "/api/v2/user");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      success: false,
      request_id: expect.any(String),
      data: { code: "not found", details: "Not Found" },
    });
  });

  it("serves the model catalogue without auth, gzip-encoded when allowed", async () => {
    const response = await fetch(`${fake.url}/api/models`, { headers: { "accept-encoding": "gzip" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-encoding")).toBe("gzip");
    const { data } = (await response.json()) as { data: WireModel[] };
    const byId = new Map(data.map((model) => [model.id, model]));
    const plus = byId.get("qwen3.7-plus");
    expect(plus?.info.meta.capabilities).toMatchObject({ thinking: true, vision: true });
    expect(plus?.info.meta.abilities.thinking).toBe(1);
    expect(plus?.info.meta.chat_type).toEqual(
      expect.arrayContaining(["t2t", "search", "t2i", "t2v", "image_edit"]),
    );
    const coder = byId.get("qwen3-coder");
    expect(coder?.info.meta.capabilities).toMatchObject({ thinking: false, vision: false });
    expect(coder?.info.meta.abilities.vision).toBe(0);
    expect(coder?.info.meta.chat_type).toEqual(["t2t"]);
    expect(byId.has("qwen3.7-max")).toBe(true);
    expect(byId.has("qwen3.8-max")).toBe(true);
    expect(data.some((model) => model.info.is_active === false)).toBe(true);

    const plain = await fetch(`${fake.url}/api/models`, { headers: { "accept-encoding": "identity" } });
    expect(plain.headers.get("content-encoding")).toBeNull();
  });

  it("logs every request, including rejected ones, with lower-cased headers", async () => {
    fake.clearRequests();
    await fetch(`${fake.url}/api/v1/auths/`, { headers: { "X-Custom-Thing": "Mixed  Case Value" } });
    await postJson(`${fake.url}/api/v1/auths/signin`, { email: "alice@example.com", password: "nope" }, {});
    await fetch(`${fake.url}/api/v1/auths/`, { headers: { authorization: `Bearer ${account.token}` } });
    expect(fake.requests).toHaveLength(3);
    const [unauthenticated, signin, authenticated] = fake.requests;
    expect(unauthenticated).toMatchObject({ method: "GET", path: "/api/v1/auths/", accountId: null });
    expect(unauthenticated?.headers["x-custom-thing"]).toBe("Mixed  Case Value");
    expect(signin?.body).toEqual({ email: "alice@example.com", password: "nope" });
    expect(authenticated?.accountId).toBe(account.id);
  });

  it("answers unknown routes with 404 and the retired v1 completions with 504 HTML", async () => {
    const missing = await fetch(`${fake.url}/api/v9/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ detail: "Not Found" });
    const legacy = await fetch(`${fake.url}/api/chat/completions`, { method: "POST", body: "{}" });
    expect(legacy.status).toBe(504);
    expect(legacy.headers.get("content-type")).toContain("text/html");
    expect(await legacy.text()).toContain("alibaba-ga");
  });
});

/** A well-formed HS256 token signed with a different secret. */
function forgeToken(accountId: string): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${encode({ alg: "HS256", typ: "JWT" })}.${encode({ id: accountId, exp: 4102444800 })}`;
  return `${input}.${createHmac("sha256", "not-the-secret").update(input).digest("base64url")}`;
}
