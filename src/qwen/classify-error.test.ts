import { describe, expect, it } from "vitest";
import { classifyBusinessError, classifyHttpFailure } from "./classify-error.js";

describe("business errors in every known shape", () => {
  it.each([
    [{ success: false, data: { code: "RateLimited", details: "limit", num: 2 } }, "rate_limited"],
    [{ code: "RateLimited", detail: "upper limit for today's usage", num: 4 }, "rate_limited"],
    [{ success: false, data: { code: "Bad_Request", details: "Internal error" } }, "upstream_internal"],
    [
      { success: false, data: { code: "Bad_Request", details: "Invalid input the chat abc is not exist." } },
      "chat_not_found",
    ],
    [
      { success: false, data: { code: "Bad_Request", details: "Invalid input too many messages" } },
      "bad_request",
    ],
    [{ error: { code: "data_inspection_failed", details: "内容安全警告" } }, "moderation"],
    [
      { data: { error: { code: "internal_error", details: "Allocated quota exceeded, please…" } } },
      "quota_exceeded",
    ],
    [{ success: false, data: { code: "not found", details: "Not Found" } }, "not_found"],
    [{ ret: ["FAIL_SYS_USER_VALIDATE::sorry"], data: { url: "https://x/punish" } }, "waf_challenge"],
    [{ detail: "Your session has expired or the token is invalid." }, "unauthorized"],
    [{ success: false, data: { code: "Weird", details: "something new" } }, "upstream_error"],
  ])("%j → %s", (body, code) => {
    expect(classifyBusinessError(body)?.code).toBe(code);
  });

  it("rate limits carry the wait in hours, and no wait when upstream does not say", () => {
    expect(classifyBusinessError({ code: "RateLimited", num: 3 })?.retryAfterMs).toBe(3 * 3_600_000);
    const unsaid = classifyBusinessError({ success: false, data: { code: "RateLimited" } });
    expect(unsaid?.code).toBe("rate_limited");
    // The account pool then parks it for a day, the sources' default for a quota message.
    expect(unsaid?.retryAfterMs).toBeUndefined();
  });

  it("normal stream events and completions are not errors", () => {
    expect(
      classifyBusinessError({ choices: [{ delta: { content: "hi" } }], response_id: "r" }),
    ).toBeUndefined();
    expect(classifyBusinessError({ success: true, data: { id: "chat" } })).toBeUndefined();
    expect(classifyBusinessError({ error: null, choices: [] })).toBeUndefined();
  });
});

describe("HTTP failures", () => {
  it("an HTML page on the API is a challenge unless it is a 5xx without WAF markers", () => {
    expect(classifyHttpFailure(200, { "content-type": "text/html" }, "<html>hello</html>").code).toBe(
      "waf_challenge",
    );
    expect(classifyHttpFailure(502, { "content-type": "text/html" }, "<html>bad gateway</html>").code).toBe(
      "upstream_error",
    );
    expect(classifyHttpFailure(403, { "content-type": "text/html" }, "<html>x5sec punish</html>").code).toBe(
      "waf_challenge",
    );
  });

  it("x-actual-status-code reveals a failure hidden behind 200", () => {
    expect(classifyHttpFailure(200, { "x-actual-status-code": "401" }, "{}").code).toBe("unauthorized");
  });

  it("a 400 with a plain detail is a bad request that keeps upstream's words", () => {
    const error = classifyHttpFailure(400, {}, '{"detail":"incorrect"}');
    expect(error.code).toBe("bad_request");
    expect(error.message).toContain("incorrect");
  });

  it("an HTML error page with another status means what its status means", () => {
    const page = { "content-type": "text/html" };
    expect(classifyHttpFailure(401, page, "<html><h1>401 Unauthorized</h1></html>").code).toBe(
      "unauthorized",
    );
    expect(classifyHttpFailure(404, page, "<html><h1>404 Not Found</h1></html>").code).toBe("not_found");
    expect(classifyHttpFailure(405, page, "<html>Method Not Allowed</html>").code).toBe("bad_request");
    expect(classifyHttpFailure(429, page, "<html>Too many requests</html>").code).toBe("rate_limited");
    expect(classifyHttpFailure(403, page, "<html>Forbidden</html>").code).toBe("waf_challenge");
  });

  it("429: Retry-After first, then num hours, and a minute when neither says", () => {
    const body = '{"detail":"Too Many Requests"}';
    expect(classifyHttpFailure(429, { "retry-after": "60" }, body).retryAfterMs).toBe(60_000);
    expect(classifyHttpFailure(429, {}, body).retryAfterMs).toBe(60_000);
    expect(classifyHttpFailure(429, {}, "").retryAfterMs).toBe(60_000);
    // The daily quota message without num: no short wait (the pool parks it for a day).
    expect(
      classifyHttpFailure(
        429,
        {},
        '{"code":"RateLimited","detail":"You\'ve reached the upper limit for today\'s usage."}',
      ).retryAfterMs,
    ).toBeUndefined();
    const hours = classifyHttpFailure(429, {}, '{"code":"RateLimited","detail":"wait","num":2}');
    expect(hours.retryAfterMs).toBe(2 * 3_600_000);
    expect(
      classifyHttpFailure(429, { "retry-after": "5" }, '{"code":"RateLimited","num":2}').retryAfterMs,
    ).toBe(5_000);
  });

  it("429 reads Retry-After in seconds and as a date", () => {
    expect(classifyHttpFailure(429, { "retry-after": "12" }, "").retryAfterMs).toBe(12_000);
    const later = new Date(Date.now() + 60_000).toUTCString();
    const wait = classifyHttpFailure(429, { "retry-after": later }, "").retryAfterMs ?? 0;
    expect(wait).toBeGreaterThan(50_000);
    expect(wait).toBeLessThanOrEqual(60_000);
  });
});
