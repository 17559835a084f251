/**
 * Typed upstream failures. Every way chat.qwen.ai can fail is mapped to one stable `code`,
 * so the layers above decide what to do (retry, move to another account, park an account,
 * tell the user) without looking at upstream text again.
 */

export type QwenErrorCode =
  /** An anti-bot page (Aliyun WAF, Baxia, captcha, FAIL_SYS_USER_VALIDATE) instead of the API. */
  | "waf_challenge"
  /** RateLimited: the account is done for a while (`retryAfterMs`). */
  | "rate_limited"
  /** The token is unknown, revoked or expired. */
  | "unauthorized"
  /** Upstream refused the request as malformed (missing version header, too many messages…). */
  | "bad_request"
  /** A transient "Internal error" Bad_Request: worth one retry. */
  | "upstream_internal"
  /** The upstream chat or parent does not exist for this account (threads belong to one account). */
  | "chat_not_found"
  /** data_inspection_failed: content moderation; false positives differ between accounts. */
  | "moderation"
  /** The account's quota is used up ("Allocated quota exceeded"). */
  | "quota_exceeded"
  | "not_found"
  /** The stream ended without any answer content. Never a success with no text. */
  | "empty_response"
  /** The stream was cut before upstream said it was finished. */
  | "incomplete_response"
  /** Upstream answered with something this client cannot read. */
  | "invalid_response"
  /** An upstream HTTP 5xx or unknown business error. */
  | "upstream_error"
  | "network_error"
  | "timeout"
  /** The caller aborted the request. */
  | "aborted";

/** Codes where the account itself is the problem: move the work to another account. */
const ACCOUNT_FAULTS: ReadonlySet<QwenErrorCode> = new Set([
  "waf_challenge",
  "rate_limited",
  "unauthorized",
  "moderation",
  "quota_exceeded",
]);

/** Codes where trying again (here or on another account) may succeed. */
const RETRYABLE: ReadonlySet<QwenErrorCode> = new Set([
  "waf_challenge",
  "rate_limited",
  "unauthorized",
  "upstream_internal",
  "chat_not_found",
  "moderation",
  "quota_exceeded",
  "empty_response",
  "incomplete_response",
  "upstream_error",
  "network_error",
  "timeout",
]);

export interface QwenErrorOptions {
  /** HTTP status upstream answered with (often 200 even for failures). */
  upstreamStatus?: number;
  /** The code string upstream used, e.g. "Bad_Request", "RateLimited". */
  upstreamCode?: string;
  /** Upstream's own explanation, trimmed. */
  details?: string;
  /** How long to wait before this account is worth trying again. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class QwenError extends Error {
  override readonly name = "QwenError";
  readonly code: QwenErrorCode;
  readonly upstreamStatus: number | undefined;
  readonly upstreamCode: string | undefined;
  readonly details: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: QwenErrorCode, message: string, options: QwenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.upstreamStatus = options.upstreamStatus;
    this.upstreamCode = options.upstreamCode;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** A retry, on this account later or on another one, may succeed. */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }

  /** The failure belongs to the account (limits, auth, anti-bot, moderation), not the request. */
  get accountFault(): boolean {
    return ACCOUNT_FAULTS.has(this.code);
  }
}

export function isQwenError(value: unknown): value is QwenError {
  return value instanceof QwenError;
}

export type ServiceErrorCode =
  /** The local chat id is unknown. */
  | "chat_not_found"
  /** No account can take the request now (none configured, all parked or busy). */
  | "no_account_available";

/** Failures of the proxy itself, not of upstream. */
export class ServiceError extends Error {
  override readonly name = "ServiceError";
  readonly code: ServiceErrorCode;
  readonly retryAfterMs: number | undefined;

  constructor(code: ServiceErrorCode, message: string, options: { retryAfterMs?: number } = {}) {
    super(message);
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * A client's input that cannot be used (an attachment too large, of a refused type, at a
 * forbidden address). Any layer may throw it; the surfaces answer with its status and code.
 */
export class InputError extends Error {
  override readonly name: string = "InputError";
  readonly status: number;
  readonly code: string;
  readonly param: string | null;

  constructor(message: string, options: { status?: number; code: string; param?: string | null }) {
    super(message);
    this.status = options.status ?? 400;
    this.code = options.code;
    this.param = options.param ?? null;
  }
}
