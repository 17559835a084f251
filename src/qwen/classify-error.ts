import { QwenError } from "../errors.js";
import { asNumber, asRecord, asString } from "./json-shape.js";

/**
 * Upstream rarely uses HTTP status for failures: most come as HTTP 200 with a JSON body in
 * one of several shapes, or as an HTML anti-bot page. These functions turn all of them into
 * one QwenError (protocol notes §2.6, §4.6).
 */

const HOUR_MS = 3_600_000;
/** A 429 that says neither Retry-After nor `num`: a burst limit, not a daily quota. */
const BARE_429_RETRY_MS = 60_000;
const DETAILS_LIMIT = 300;

/** Markers of the Aliyun WAF / Baxia / captcha pages. */
const WAF_MARKERS = [
  "aliyun_waf",
  "baxia",
  "awsc",
  "_____tmd_____",
  "punish",
  "x5sec",
  "rgv587_error",
  "fail_sys_user_validate",
  "captcha",
  "access verification",
  "verify that you are",
  "please complete the operation",
  "安全验证",
  "人机验证",
  "滑块验证",
  "请完成验证",
];

export function looksLikeWafPage(text: string): boolean {
  const lower = text.toLowerCase();
  return WAF_MARKERS.some((marker) => lower.includes(marker));
}

export function looksLikeHtml(text: string): boolean {
  const start = text.trimStart().slice(0, 100).toLowerCase();
  return start.startsWith("<!doctype") || start.startsWith("<html") || start.startsWith("<");
}

interface BusinessFields {
  code?: string;
  details?: string;
  num?: number;
}

/** Finds `code`/`details` in every error shape upstream is known to use. */
function readBusinessFields(body: Record<string, unknown>): BusinessFields | undefined {
  const data = asRecord(body.data);
  const error = asRecord(body.error) ?? asRecord(data?.error);
  if (error) {
    return {
      code: asString(error.code) ?? asString(error.type),
      details: asString(error.details) ?? asString(error.message) ?? asString(error.detail),
      num: asNumber(error.num) ?? asNumber(data?.num) ?? asNumber(body.num),
    };
  }
  if (body.success === false) {
    return {
      code: asString(data?.code) ?? asString(body.code),
      details: asString(data?.details) ?? asString(data?.message) ?? asString(body.message),
      num: asNumber(data?.num) ?? asNumber(body.num),
    };
  }
  // v1-era flat shape: {"code":"RateLimited","detail":…,"num":4}
  const code = asString(body.code);
  if (code && !body.choices) {
    return { code, details: asString(body.detail) ?? asString(body.message), num: asNumber(body.num) };
  }
  // Other Alibaba properties answer {"ret":["FAIL_SYS_USER_VALIDATE::…"],"data":{"url":…}}.
  if (Array.isArray(body.ret)) {
    const ret = body.ret.filter((item): item is string => typeof item === "string").join(" ");
    if (/FAIL_SYS|RGV587/i.test(ret)) return { code: ret.split("::")[0], details: ret };
  }
  // Open WebUI style: {"detail":"Your session has expired…"}.
  const detail = asString(body.detail);
  if (detail && Object.keys(body).length === 1) return { details: detail };
  return undefined;
}

/**
 * A QwenError when the JSON object is a business error; undefined when it is not an error.
 */
export function classifyBusinessError(body: unknown, upstreamStatus = 200): QwenError | undefined {
  const record = asRecord(body);
  if (!record) return undefined;
  const fields = readBusinessFields(record);
  if (!fields) return undefined;
  return errorFromFields(fields, upstreamStatus);
}

function errorFromFields(fields: BusinessFields, upstreamStatus: number): QwenError {
  const code = fields.code ?? "";
  const details = trimDetails(fields.details ?? "");
  const text = `${code} ${details}`.toLowerCase();
  const base = { upstreamStatus, upstreamCode: code || undefined, details: details || undefined };

  if (/ratelimit|rate_limit|too many requests/.test(text)) {
    // Without `num` the wait is unknown: the caller decides (a day for a quota message, the
    // Retry-After header or a minute for a bare HTTP 429).
    if (fields.num === undefined)
      return new QwenError("rate_limited", "The Qwen account is rate-limited", base);
    return new QwenError("rate_limited", `The Qwen account is rate-limited for ${fields.num} h`, {
      ...base,
      retryAfterMs: fields.num * HOUR_MS,
    });
  }
  if (/fail_sys_user_validate|rgv587/.test(text)) {
    return new QwenError("waf_challenge", "Upstream asked for a human verification", base);
  }
  if (text.includes("data_inspection_failed")) {
    return new QwenError("moderation", "Qwen's content filter refused this request", base);
  }
  if (/quota|upper limit|today's usage/.test(text)) {
    return new QwenError("quota_exceeded", "The Qwen account's quota is used up", base);
  }
  if (/unauthorized|token has expired|invalid token|token is invalid|not authenticated/.test(text)) {
    return new QwenError("unauthorized", "The Qwen token was refused", base);
  }
  // "the chat … is not exist": a thread of another account (or gone); files say "the file …".
  if (/chat \S* ?is not exist|chat not found|parent.*not (found|exist)/.test(text)) {
    return new QwenError("chat_not_found", "The upstream chat does not exist for this account", base);
  }
  if (/internal error|internal_error/.test(text)) {
    return new QwenError("upstream_internal", "Upstream had an internal error", base);
  }
  if (/bad_request|invalid input|bad request/.test(text)) {
    return new QwenError("bad_request", `Upstream refused the request: ${details || code}`, base);
  }
  if (/not.?found/.test(text)) {
    return new QwenError("not_found", `Upstream says not found: ${details || code}`, base);
  }
  return new QwenError("upstream_error", `Upstream error: ${details || code || "unknown"}`, base);
}

/**
 * Classifies a response that is not a readable success: any non-2xx status, an HTML page, or
 * a JSON business error. `bodyText` is the (possibly truncated) body.
 */
export function classifyHttpFailure(
  status: number,
  headers: Record<string, string>,
  bodyText: string,
): QwenError {
  // Some gateways hide the real status behind a 200 (S1's Python variant reads this header).
  const actual = Number.parseInt(headers["x-actual-status-code"] ?? "", 10);
  const effective = Number.isFinite(actual) && actual >= 400 ? actual : status;
  const contentType = headers["content-type"] ?? "";
  const details = trimDetails(bodyText);
  const base = { upstreamStatus: status, details: details || undefined };

  if (contentType.includes("html") || looksLikeHtml(bodyText)) {
    if (looksLikeWafPage(bodyText)) {
      return new QwenError("waf_challenge", "Upstream answered with an anti-bot challenge page", base);
    }
    // An HTML page where the API should answer, with a success or a "forbidden" status, is
    // the wall in some other dress; any other status is an ordinary error page and means
    // what its status means (401 a refused token, 404 an endpoint that moved…).
    if (effective < 400 || effective === 403) {
      return new QwenError("waf_challenge", "Upstream answered with an HTML page instead of the API", base);
    }
    // A gateway's page (the retired v1 endpoint answers an HTML 504).
    if (effective >= 500) {
      return new QwenError("upstream_error", `Upstream answered HTTP ${effective} with an HTML page`, base);
    }
  }

  const json = contentType.includes("html") || looksLikeHtml(bodyText) ? undefined : tryParseJson(bodyText);
  const business = json === undefined ? undefined : classifyBusinessError(json, status);

  if (effective === 429) {
    // The header is the most precise word; then `num` hours; a bare 429 is a short burst limit.
    // A RateLimited body without `num` is the daily quota message: the account pool's default
    // (a day) applies; only a 429 that says nothing at all is a short burst limit.
    const quotaBody = business?.code === "rate_limited" && business.upstreamCode !== undefined;
    const retryAfterMs =
      parseRetryAfter(headers["retry-after"]) ??
      business?.retryAfterMs ??
      (quotaBody ? undefined : BARE_429_RETRY_MS);
    return new QwenError("rate_limited", business?.message ?? "The Qwen account is rate-limited (HTTP 429)", {
      ...base,
      upstreamCode: business?.upstreamCode,
      retryAfterMs,
    });
  }
  // A specific business code beats the status; a generic one does not.
  if (business && business.code !== "upstream_error") return business;
  if (effective === 401) {
    return new QwenError("unauthorized", "The Qwen token was refused (HTTP 401)", base);
  }
  if (effective === 403) {
    if (looksLikeWafPage(bodyText)) {
      return new QwenError("waf_challenge", "Upstream blocked the request (HTTP 403)", base);
    }
    return new QwenError("unauthorized", "Upstream refused access (HTTP 403)", base);
  }
  if (effective === 404) return new QwenError("not_found", "Upstream answered HTTP 404", base);
  if (effective === 408 || effective === 504) {
    return new QwenError("timeout", `Upstream timed out (HTTP ${effective})`, base);
  }
  if (effective >= 500) return new QwenError("upstream_error", `Upstream answered HTTP ${effective}`, base);
  if (effective >= 400) {
    const reason = business?.details ? `: ${business.details}` : "";
    return new QwenError("bad_request", `Upstream answered HTTP ${effective}${reason}`, base);
  }
  if (business) return business;
  return new QwenError("invalid_response", "Upstream answered with something that is not the API", base);
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function trimDetails(text: string): string {
  const single = text.replace(/\s+/g, " ").trim();
  return single.length > DETAILS_LIMIT ? `${single.slice(0, DETAILS_LIMIT)}…` : single;
}
