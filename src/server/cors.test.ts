import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, type RunningProxy, startHarness } from "../../testing/proxy-harness.js";
import { originAllowed } from "./cors.js";

// A web page calling the proxy from the user's browser (Open WebUI's direct connections, a
// local chat front-end): the browser's preflight and the CORS headers of the real answer,
// with raw fetch so nothing hides a header. By default only pages served from this machine
// may call; CORS_ORIGINS widens or closes that.

const LOCAL_ORIGINS = ["http://localhost:5173", "http://127.0.0.1:8080", "http://[::1]:3000"];
const EVIL = "https://evil.example";
const HELLO = { model: "qwen3.7-plus", messages: [{ role: "user", content: "Hello" }] };

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness?.close();
});

/** The preflight a browser sends before a JSON POST with an Authorization header. */
function preflight(url: string, origin: string, path = "/v1/chat/completions") {
  return fetch(`${url}${path}`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type",
    },
  });
}

function post(url: string, origin: string, headers: Record<string, string> = {}) {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { origin, "content-type": "application/json", ...headers },
    body: JSON.stringify(HELLO),
  });
}

/** Lower-cased, trimmed items of a comma-separated header. */
function listOf(value: string | null): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== "");
}

const corsHeaders = (response: Response) =>
  [...response.headers.keys()].filter((name) => name.startsWith("access-control-"));

describe("originAllowed", () => {
  it("'loopback' admits pages on localhost, 127.x.x.x and [::1], any port, http or https", () => {
    for (const origin of [
      ...LOCAL_ORIGINS,
      "http://localhost",
      "https://localhost:8443",
      "http://127.0.0.1",
      "http://127.1.2.3:9",
      "HTTP://LOCALHOST:5173",
    ]) {
      expect(originAllowed(origin, ["loopback"]), origin).toBe(true);
    }
  });

  it("'loopback' refuses other hosts, look-alikes included", () => {
    for (const origin of [
      EVIL,
      "http://localhost.evil.example",
      "http://evil.example/localhost",
      "http://127.0.0.1.evil.example",
      "http://192.168.1.10:3000",
      "http://[::2]:3000",
      "null",
      "file://",
    ]) {
      expect(originAllowed(origin, ["loopback"]), origin).toBe(false);
    }
  });

  it("'*' admits everyone; exact origins match regardless of case and a trailing slash", () => {
    expect(originAllowed(EVIL, ["*"])).toBe(true);
    expect(originAllowed(EVIL, [EVIL])).toBe(true);
    expect(originAllowed(EVIL, ["HTTPS://Evil.Example/"])).toBe(true);
    expect(originAllowed("https://evil.example:444", [EVIL])).toBe(false);
    expect(originAllowed("http://evil.example", [EVIL])).toBe(false);
    // An exact origin does not open loopback, nor the other way round.
    expect(originAllowed("http://localhost:5173", [EVIL])).toBe(false);
    expect(originAllowed(EVIL, ["loopback", "https://chat.example.org"])).toBe(false);
    expect(originAllowed("https://chat.example.org", ["loopback", "https://chat.example.org"])).toBe(true);
  });

  it("an empty list admits nobody", () => {
    for (const origin of [...LOCAL_ORIGINS, EVIL]) expect(originAllowed(origin, [])).toBe(false);
  });
});

describe("default CORS (loopback pages only)", () => {
  it.each(LOCAL_ORIGINS)("a preflight from %s is a 204 that echoes the origin", async (origin) => {
    const response = await preflight(harness.url, origin);
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(origin);
    expect(listOf(response.headers.get("access-control-allow-methods"))).toContain("post");
    expect(listOf(response.headers.get("vary"))).toContain("origin");
    // A preflight never reaches a route: upstream was not asked anything.
    expect(await response.text()).toBe("");
  });

  it("the preflight allows the headers the page asked to send (Authorization, Content-Type)", async () => {
    for (const origin of LOCAL_ORIGINS) {
      const response = await preflight(harness.url, origin);
      const allowed = listOf(response.headers.get("access-control-allow-headers"));
      // Without these the browser refuses to send the JSON POST at all.
      expect(allowed, origin).toEqual(expect.arrayContaining(["authorization", "content-type"]));
    }
  });

  it("the real answer carries the origin and exposes the proxy's own headers", async () => {
    const response = await post(harness.url, "http://localhost:5173", { authorization: "Bearer x" });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    const exposed = listOf(response.headers.get("access-control-expose-headers"));
    expect(exposed).toEqual(expect.arrayContaining(["x-request-id", "x-chat-id"]));
    const json = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    expect(json.choices[0]!.message.content).toContain("You said: «Hello»");
  });

  it("a streamed answer carries the CORS headers too", async () => {
    const response = await fetch(`${harness.url}/v1/chat/completions`, {
      method: "POST",
      headers: { origin: "http://127.0.0.1:8080", "content-type": "application/json" },
      body: JSON.stringify({ ...HELLO, stream: true }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:8080");
    expect(await response.text()).toContain("data: [DONE]");
  });

  it("a page on another site gets no access-control-allow-origin, on the preflight or the answer", async () => {
    const answer = await preflight(harness.url, EVIL);
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
    const response = await post(harness.url, EVIL);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    // A look-alike of localhost is another site as well.
    const lookAlike = await preflight(harness.url, "http://localhost.evil.example");
    expect(lookAlike.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("a client without an Origin (curl, an SDK) is unaffected and gets no CORS headers", async () => {
    const response = await fetch(`${harness.url}/v1/models`);
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("CORS_ORIGINS", () => {
  let open: RunningProxy;
  let exact: RunningProxy;
  let closed: RunningProxy;

  beforeAll(async () => {
    const tokens = harness.accounts.map((account) => account.token);
    [open, exact, closed] = await Promise.all([
      harness.startProxy({ tokens, config: { corsOrigins: ["*"] } }),
      harness.startProxy({ tokens, config: { corsOrigins: [EVIL] } }),
      harness.startProxy({ tokens, config: { corsOrigins: [] } }),
    ]);
  });

  it("'*' lets any site call", async () => {
    const answer = await preflight(open.url, EVIL);
    expect(answer.status).toBe(204);
    expect(answer.headers.get("access-control-allow-origin")).toBe(EVIL);
    const response = await post(open.url, EVIL);
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(EVIL);
  });

  it("an exact origin lets that site call, and only it (loopback pages included)", async () => {
    const answer = await preflight(exact.url, EVIL);
    expect(answer.status).toBe(204);
    expect(answer.headers.get("access-control-allow-origin")).toBe(EVIL);
    const response = await post(exact.url, EVIL);
    expect(response.headers.get("access-control-allow-origin")).toBe(EVIL);

    const other = await preflight(exact.url, "https://other.example");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const local = await preflight(exact.url, "http://localhost:5173");
    expect(local.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("an empty list sends no CORS headers at all, not even to loopback pages", async () => {
    for (const origin of [...LOCAL_ORIGINS, EVIL]) {
      const answer = await preflight(closed.url, origin);
      expect(corsHeaders(answer), origin).toEqual([]);
      const response = await post(closed.url, origin);
      expect(response.status).toBe(200);
      expect(corsHeaders(response), origin).toEqual([]);
    }
  });
});

describe("CORS with API keys", () => {
  let guarded: RunningProxy;

  beforeAll(async () => {
    guarded = await harness.startProxy({
      tokens: harness.accounts.map((account) => account.token),
      config: { apiKeys: ["k1"] },
    });
  });

  it("the preflight succeeds without a key (browsers never send one on it)", async () => {
    const response = await preflight(guarded.url, "http://localhost:5173");
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    const models = await preflight(guarded.url, "http://localhost:5173", "/v1/models");
    expect(models.status).toBe(204);
  });

  it("a POST without a key is a 401 the page can read: it carries the CORS headers", async () => {
    const response = await post(guarded.url, "http://localhost:5173");
    expect(response.status).toBe(401);
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    const exposed = listOf(response.headers.get("access-control-expose-headers"));
    expect(exposed).toEqual(expect.arrayContaining(["x-request-id", "x-should-retry"]));
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    const json = (await response.json()) as { error: { code: string } };
    expect(json.error.code).toBe("invalid_api_key");
  });

  it("with the key the page gets its answer", async () => {
    const response = await post(guarded.url, "http://localhost:5173", { authorization: "Bearer k1" });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
  });

  it("a page on another site gets its 401 without CORS headers", async () => {
    const response = await post(guarded.url, EVIL);
    expect(response.status).toBe(401);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });
});
