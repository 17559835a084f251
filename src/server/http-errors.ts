import { InputError, QwenError, ServiceError } from "../errors.js";

/**
 * Every failure, as an HTTP answer. Surfaces render it in their own error shape; the status,
 * the code and the retry advice are decided here once.
 */
export interface HttpError {
  status: number;
  /** OpenAI-style error type. */
  type: string;
  code: string;
  message: string;
  param: string | null;
  /** Seconds, for Retry-After. */
  retryAfterSeconds?: number;
  /** False when retrying the same request cannot help (the SDKs obey x-should-retry). */
  shouldRetry?: boolean;
}

/** A client's request is wrong: 400 (unless said otherwise) with the field it concerns. */
export class RequestError extends InputError {
  override readonly name: string = "RequestError";

  constructor(message: string, options: { param?: string | null; code?: string; status?: number } = {}) {
    super(message, { code: options.code ?? "invalid_request", status: options.status, param: options.param });
  }
}

const UPSTREAM_ADVICE: Partial<Record<QwenError["code"], string>> = {
  unauthorized:
    "The Qwen session expired or was revoked: log in again (`npm start -- login`) or update QWEN_TOKENS.",
  waf_challenge:
    "chat.qwen.ai asked for a human verification: run `npm start -- login` and solve it in the window, then try again.",
  bad_request:
    "chat.qwen.ai refused the request; if this persists its web app changed (try QWEN_SPA_VERSION).",
};

export function toHttpError(error: unknown): HttpError {
  if (error instanceof InputError) {
    return {
      status: error.status,
      type: "invalid_request_error",
      code: error.code,
      message: error.message,
      param: error.param,
      shouldRetry: false,
    };
  }
  if (error instanceof ServiceError) return fromServiceError(error);
  if (error instanceof QwenError) return fromQwenError(error);
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) return fromFrameworkError(error, status);
  return {
    status: 500,
    type: "server_error",
    code: "internal_error",
    message: "The proxy failed unexpectedly; see its log for details",
    param: null,
  };
}

function fromServiceError(error: ServiceError): HttpError {
  if (error.code === "chat_not_found") {
    return {
      status: 404,
      type: "invalid_request_error",
      code: "chat_not_found",
      message: error.message,
      param: "chat_id",
      shouldRetry: false,
    };
  }
  return {
    status: 503,
    type: "service_unavailable",
    code: "no_account_available",
    message: error.message,
    param: null,
    retryAfterSeconds: error.retryAfterMs === undefined ? undefined : Math.ceil(error.retryAfterMs / 1000),
    shouldRetry: error.retryAfterMs !== undefined,
  };
}

function fromQwenError(error: QwenError): HttpError {
  const advice = UPSTREAM_ADVICE[error.code];
  const message = advice ? `${error.message}. ${advice}` : error.message;
  const base = { message, param: null, code: error.code };
  switch (error.code) {
    case "rate_limited":
      return {
        ...base,
        status: 429,
        type: "rate_limit_error",
        code: "rate_limit_exceeded",
        retryAfterSeconds:
          error.retryAfterMs === undefined ? undefined : Math.ceil(error.retryAfterMs / 1000),
      };
    case "quota_exceeded":
      return {
        ...base,
        status: 429,
        type: "rate_limit_error",
        code: "insufficient_quota",
        shouldRetry: false,
      };
    case "moderation":
      return {
        ...base,
        status: 400,
        type: "invalid_request_error",
        code: "content_filter",
        shouldRetry: false,
      };
    case "unauthorized":
      return {
        ...base,
        status: 503,
        type: "service_unavailable",
        code: "upstream_unauthorized",
        shouldRetry: false,
      };
    case "waf_challenge":
      // A person has to solve it; an SDK retrying at once only looks more like a bot.
      return {
        ...base,
        status: 503,
        type: "service_unavailable",
        code: "upstream_verification_required",
        shouldRetry: false,
      };
    case "timeout":
      return { ...base, status: 504, type: "upstream_error", code: "upstream_timeout" };
    case "aborted":
      return { ...base, status: 499, type: "invalid_request_error", code: "client_closed_request" };
    default:
      return { ...base, status: 502, type: "upstream_error" };
  }
}

function fromFrameworkError(error: unknown, status: number): HttpError {
  const code = String((error as { code?: unknown }).code ?? "");
  if (status === 413 || code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return {
      status: 413,
      type: "invalid_request_error",
      code: "request_too_large",
      message: "The request body is larger than this server accepts (BODY_LIMIT)",
      param: null,
      shouldRetry: false,
    };
  }
  const message = error instanceof Error ? error.message : "Bad request";
  const invalidJson = code.startsWith("FST_ERR_CTP") || error instanceof SyntaxError;
  return {
    status,
    type: "invalid_request_error",
    code: invalidJson ? "invalid_json" : "invalid_request",
    message: invalidJson ? `The request body is not valid JSON: ${message}` : message,
    param: null,
    shouldRetry: false,
  };
}

/** The OpenAI error body: all four keys, always. */
export function openAiErrorBody(error: HttpError) {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}

/** Retry headers the SDKs read. */
export function errorHeaders(error: HttpError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds);
  // The SDKs ignore a Retry-After over a minute and retry at once; say plainly not to.
  const waitTooLong = error.retryAfterSeconds !== undefined && error.retryAfterSeconds > 60;
  const shouldRetry = waitTooLong ? false : error.shouldRetry;
  if (shouldRetry !== undefined) headers["x-should-retry"] = String(shouldRetry);
  return headers;
}
