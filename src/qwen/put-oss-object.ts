import { QwenError } from "../errors.js";
import type { Transport, TransportResponse } from "../transport/transport.js";
import { signOssPut } from "./oss-signer.js";
import type { OssUploadTarget } from "./oss-upload-targets.js";
import { readBodyText } from "./read-body-text.js";
import { type StsCredentials, signingRegionOf } from "./sts-credentials.js";

export interface PutOssObjectInput {
  /** A plain direct transport: OSS answers 200 with an empty body, which the auto transport
   *  would take for the anti-bot wall and replay through the browser. */
  transport: Transport;
  targets: OssUploadTarget[];
  credentials: StsCredentials;
  bytes: Uint8Array;
  contentType: string;
  userAgent?: string;
  signal?: AbortSignal;
  /** Signing time; tests pin it. */
  now?: () => Date;
}

const ERROR_BODY_LIMIT_BYTES = 64 * 1024;
const DETAILS_LIMIT = 300;

/** Network failures that happen before a connection exists: DNS, refusal, unreachable, connect timeout. */
const CONNECT_FAILURE_CODES = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_FAIL",
  "EAI_NONAME",
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/**
 * PUTs the bytes to the first target that takes them. A target that cannot be reached (the
 * accelerate endpoint fails DNS in some places) or refuses (a `file_url` on a CDN that only
 * serves reads) makes way for the next. When none takes them, the error says what a store
 * answered, which explains more than a failed DNS lookup. Returns the target that took them.
 */
export async function putOssObject(input: PutOssObjectInput): Promise<OssUploadTarget> {
  if (input.targets.length === 0) {
    throw new QwenError("invalid_response", "Upstream's upload credentials name no place to upload to");
  }
  let refusal: unknown;
  let unreachable: unknown;
  for (const target of input.targets) {
    try {
      await putOnce(input, target);
      return target;
    } catch (error) {
      if (input.signal?.aborted || (error instanceof QwenError && error.code === "aborted")) throw error;
      if (isConnectFailure(error)) unreachable ??= error;
      else refusal ??= error;
    }
  }
  throw refusal ?? unreachable;
}

async function putOnce(input: PutOssObjectInput, target: OssUploadTarget): Promise<void> {
  const { credentials } = input;
  const headers = signOssPut({
    bucket: credentials.bucketName,
    objectKey: credentials.filePath,
    host: target.host,
    region: signingRegionOf(credentials),
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
    securityToken: credentials.securityToken,
    contentType: input.contentType,
    date: input.now?.() ?? new Date(),
  });
  if (input.userAgent) headers["user-agent"] = input.userAgent;
  const response = await input.transport.request({
    method: "PUT",
    url: target.url,
    headers,
    body: input.bytes,
    signal: input.signal,
  });
  // Read the body even on success (it is empty): cancelling an unread direct-transport body
  // makes undici emit an AbortError nobody listens to, an uncaught exception.
  const text = await readLimitedText(response);
  if (response.status >= 200 && response.status < 300) return;
  throw ossFailure(response.status, text);
}

async function readLimitedText(response: TransportResponse): Promise<string> {
  try {
    return (await readBodyText(response.body, ERROR_BODY_LIMIT_BYTES)).text;
  } finally {
    response.cancel();
  }
}

/**
 * OSS answers failures with an XML `<Error>` naming a code (SignatureDoesNotMatch,
 * AccessDenied, InvalidAccessKeyId, RequestTimeTooSkewed…). The code goes into the error so
 * a log shows which of them it was; a SignatureDoesNotMatch also carries OSS's own
 * StringToSign, the quickest way to see what went wrong.
 */
export function ossFailure(status: number, bodyText: string): QwenError {
  const code = xmlElement(bodyText, "Code");
  const message = xmlElement(bodyText, "Message");
  const stringToSign = xmlElement(bodyText, "StringToSign");
  const parts = [code, message, stringToSign ? `StringToSign: ${stringToSign}` : undefined].filter(Boolean);
  const details = trim(parts.length > 0 ? parts.join(": ") : bodyText);
  const label = code ? `${status} ${code}` : `HTTP ${status}`;
  return new QwenError("upstream_error", `OSS refused the upload (${label})`, {
    upstreamStatus: status,
    upstreamCode: code,
    details: details || undefined,
  });
}

export function isConnectFailure(error: unknown): boolean {
  if (!(error instanceof QwenError)) return false;
  if (error.code !== "network_error" && error.code !== "timeout") return false;
  return causeCodes(error).some((code) => CONNECT_FAILURE_CODES.has(code));
}

/** Every `code` along the cause chain: undici and fetch wrap the socket error differently. */
function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
    current = current.cause;
  }
  return codes;
}

function xmlElement(text: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(text);
  return match?.[1] === undefined ? undefined : decodeXmlEntities(match[1]).trim() || undefined;
}

function decodeXmlEntities(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}

function trim(text: string): string {
  const single = text.replace(/\s+/g, " ").trim();
  return single.length > DETAILS_LIMIT ? `${single.slice(0, DETAILS_LIMIT)}…` : single;
}
