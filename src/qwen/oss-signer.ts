import { createHash, createHmac } from "node:crypto";

/**
 * Alibaba Cloud OSS Signature V4 (`OSS4-HMAC-SHA256`) for requests signed in the
 * Authorization header, written from Alibaba's documentation ("Include a V4 signature in the
 * Authorization header") and checked against the known answers of Alibaba's SDK tests.
 * Upstream hands out STS credentials and expects the client to sign its own PUT (§3.4).
 */

export const OSS_ALGORITHM = "OSS4-HMAC-SHA256";
const SERVICE = "oss";
const TERMINATOR = "aliyun_v4_request";
/** We never hash the upload: OSS accepts this marker, and it spares a pass over the bytes. */
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

export interface OssRequestSigningInput {
  method: string;
  bucket: string;
  /** The object key as stored (not encoded); "/" separates its folders. */
  objectKey: string;
  /** Signing region without the `oss-` prefix, e.g. `ap-southeast-1`. */
  region: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** STS token; sent and signed as `x-oss-security-token`. */
  securityToken?: string;
  date: Date;
  /** Headers the request will carry, any case. x-oss-date and friends are added here. */
  headers: Record<string, string>;
  /** Decoded query parameters; a subresource without value has "". */
  query?: Array<[string, string]>;
  /** Optional headers to sign besides the default ones (OSS's "AdditionalHeaders"). */
  additionalHeaders?: string[];
  /**
   * Where the signing time travels. OSS reads `x-oss-date` (signed, the default) or else an
   * ISO 8601 `Date` header (unsigned), which is what Alibaba's Android SDK sends.
   */
  dateHeader?: "x-oss-date" | "date";
}

export interface OssSignature {
  /** The request's headers (lower-cased names) plus x-oss-date, x-oss-content-sha256,
   *  x-oss-security-token and authorization: everything to send. */
  headers: Record<string, string>;
  authorization: string;
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

/** Signs any OSS request in the Authorization header. */
export function signOssRequest(input: OssRequestSigningInput): OssSignature {
  const dateTime = isoBasicDateTime(input.date);
  const day = dateTime.slice(0, 8);
  const headers = lowerCaseNames(input.headers);
  headers[input.dateHeader ?? "x-oss-date"] = dateTime;
  headers["x-oss-content-sha256"] ??= UNSIGNED_PAYLOAD;
  if (input.securityToken !== undefined) headers["x-oss-security-token"] = input.securityToken;

  const additionalHeaders = chooseAdditionalHeaders(input.additionalHeaders ?? [], headers);
  const canonicalRequest = buildOssCanonicalRequest({
    method: input.method,
    bucket: input.bucket,
    objectKey: input.objectKey,
    query: input.query ?? [],
    headers,
    additionalHeaders,
  });
  const scope = `${day}/${input.region}/${SERVICE}/${TERMINATOR}`;
  const stringToSign = [OSS_ALGORITHM, dateTime, scope, sha256Hex(canonicalRequest)].join("\n");
  const signingKey = [day, input.region, SERVICE, TERMINATOR].reduce<Buffer | string>(
    (key, part) => hmac(key, part),
    `aliyun_v4${input.accessKeySecret}`,
  );
  const signature = hmac(signingKey, stringToSign).toString("hex");
  const additionalField =
    additionalHeaders.length > 0 ? `,AdditionalHeaders=${additionalHeaders.join(";")}` : "";
  const authorization = `${OSS_ALGORITHM} Credential=${input.accessKeyId}/${scope}${additionalField},Signature=${signature}`;
  headers.authorization = authorization;
  return { headers, authorization, canonicalRequest, stringToSign, signature };
}

export interface OssPutSigningInput {
  method?: "PUT";
  bucket: string;
  objectKey: string;
  /** Host the request goes to; signed only when "host" is among `additionalHeaders`. */
  host: string;
  /** Signing region without the `oss-` prefix. */
  region: string;
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  contentType: string;
  date: Date;
  additionalHeaders?: string[];
}

/**
 * The headers for an upload PUT: authorization, x-oss-date, x-oss-content-sha256,
 * x-oss-security-token, content-type (and host when it is signed).
 */
export function signOssPut(input: OssPutSigningInput): Record<string, string> {
  const headers: Record<string, string> = { "content-type": input.contentType };
  const additional = (input.additionalHeaders ?? []).map((name) => name.toLowerCase());
  // The host is sent by the HTTP client anyway; naming it here only matters when it is signed.
  if (additional.includes("host")) headers.host = input.host;
  return signOssRequest({
    method: input.method ?? "PUT",
    bucket: input.bucket,
    objectKey: input.objectKey,
    region: input.region,
    accessKeyId: input.accessKeyId,
    accessKeySecret: input.accessKeySecret,
    securityToken: input.securityToken,
    date: input.date,
    headers,
    additionalHeaders: additional,
  }).headers;
}

export interface OssCanonicalRequestInput {
  method: string;
  bucket: string;
  objectKey: string;
  query: Array<[string, string]>;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** Already chosen: lower-cased, sorted, present in `headers`. */
  additionalHeaders: string[];
}

/**
 * Method, canonical URI, canonical query, canonical headers, additional header names and
 * the payload hash, one per line. The URI is always `/<bucket>/<key>`, even when the
 * request goes to a virtual-hosted bucket whose path is only `/<key>`.
 */
export function buildOssCanonicalRequest(input: OssCanonicalRequestInput): string {
  const resource = input.bucket === "" ? "/" : `/${input.bucket}/${input.objectKey}`;
  const query = input.query
    .map(([name, value]) => [ossUriEncode(name.trim()), ossUriEncode(value.trim())] as const)
    .sort(([left], [right]) => compareCodeUnits(left, right))
    .map(([name, value]) => (value === "" ? name : `${name}=${value}`))
    .join("&");
  const signedNames = Object.keys(input.headers)
    .filter((name) => isDefaultSignedHeader(name) || input.additionalHeaders.includes(name))
    .sort(compareCodeUnits);
  const canonicalHeaders = signedNames
    .map((name) => `${name}:${(input.headers[name] ?? "").trim()}\n`)
    .join("");
  return [
    input.method.toUpperCase(),
    ossUriEncode(resource, { keepSlash: true }),
    query,
    canonicalHeaders,
    input.additionalHeaders.join(";"),
    input.headers["x-oss-content-sha256"] ?? UNSIGNED_PAYLOAD,
  ].join("\n");
}

/**
 * OSS's URI encoding: every UTF-8 byte except the RFC 3986 unreserved characters becomes
 * %XX (upper-case hex). Unlike encodeURIComponent it also encodes `!'()*`; a space is %20,
 * never "+". Only a resource path keeps its "/".
 */
export function ossUriEncode(text: string, options: { keepSlash?: boolean } = {}): string {
  let encoded = "";
  for (const byte of Buffer.from(text, "utf8")) {
    if (isUnreserved(byte) || (options.keepSlash === true && byte === 0x2f)) {
      encoded += String.fromCharCode(byte);
    } else {
      encoded += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return encoded;
}

/** `20260812T103000Z`: the x-oss-date format. */
export function isoBasicDateTime(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/**
 * OSS ignores additional names that are signed anyway or that the request does not carry
 * (Alibaba's SDK tests rely on this), so they are dropped before they reach the header.
 */
function chooseAdditionalHeaders(names: string[], headers: Record<string, string>): string[] {
  const chosen = new Set<string>();
  for (const name of names) {
    const lower = name.trim().toLowerCase();
    if (lower !== "" && !isDefaultSignedHeader(lower) && headers[lower] !== undefined) chosen.add(lower);
  }
  return [...chosen].sort(compareCodeUnits);
}

function isDefaultSignedHeader(name: string): boolean {
  return name === "content-type" || name === "content-md5" || name.startsWith("x-oss-");
}

function lowerCaseNames(headers: Record<string, string>): Record<string, string> {
  const lowered: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lowered[name.toLowerCase()] = value;
  return lowered;
}

function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    byte === 0x2d || // -
    byte === 0x2e || // .
    byte === 0x5f || // _
    byte === 0x7e // ~
  );
}

/** Byte order, not locale order: OSS sorts names as plain strings. */
function compareCodeUnits(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}
