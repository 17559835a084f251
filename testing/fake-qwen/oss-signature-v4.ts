import { createHash, createHmac } from "node:crypto";

// Alibaba Cloud OSS Signature V4 (OSS4-HMAC-SHA256), recomputed server-side exactly as
// OSS documents it ("Include a V4 signature in the Authorization header"). Checked
// against the known-answer vectors of Alibaba's own SDK tests (see the upload tests).

export interface OssAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  additionalHeaders: string[];
  signature: string;
}

export interface CanonicalRequestInput {
  method: string;
  bucket: string;
  key: string;
  /** Decoded query parameters, in any order. */
  query: Array<[string, string]>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  additionalHeaders: string[];
}

export interface SignatureInput extends CanonicalRequestInput {
  accessKeySecret: string;
  /** The x-oss-date value, ISO 8601 basic: 20260812T103000Z. */
  dateTime: string;
  region: string;
}

export const ossAlgorithm = "OSS4-HMAC-SHA256";

/** Accepts both ", " and "," between the fields, in any order, as the SDKs differ. */
export function parseOssAuthorization(header: string): OssAuthorization | null {
  const trimmed = header.trim();
  if (!trimmed.startsWith(`${ossAlgorithm} `)) return null;
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(ossAlgorithm.length + 1).split(",")) {
    const separator = part.indexOf("=");
    if (separator === -1) return null;
    fields.set(part.slice(0, separator).trim(), part.slice(separator + 1).trim());
  }
  const credential = fields.get("Credential");
  const signature = fields.get("Signature");
  if (!credential || !signature) return null;
  const scope = credential.split("/");
  if (scope.length !== 5) return null;
  const [accessKeyId, date, region, service, terminator] = scope as [string, string, string, string, string];
  const additional = fields.get("AdditionalHeaders");
  return {
    accessKeyId,
    date,
    region,
    service,
    terminator,
    additionalHeaders: additional ? additional.split(";").map((name) => name.trim().toLowerCase()) : [],
    signature,
  };
}

/** RFC 3986 percent-encoding of UTF-8 bytes; "/" is kept only in the resource path. */
export function ossUriEncode(text: string, keepSlash: boolean): string {
  let encoded = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const character = String.fromCharCode(byte);
    if (/[A-Za-z0-9_.~-]/.test(character) || (keepSlash && character === "/")) encoded += character;
    else encoded += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}

export function buildCanonicalRequest(input: CanonicalRequestInput): string {
  const query = input.query
    .map(([name, value]) => [ossUriEncode(name, false), ossUriEncode(value, false)] as const)
    .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
    .map(([name, value]) => (value === "" ? name : `${name}=${value}`))
    .join("&");
  const additional = [...new Set(input.additionalHeaders)].sort();
  const signedNames = Object.keys(input.headers)
    .filter((name) => isDefaultSignedHeader(name) || additional.includes(name))
    .sort();
  const canonicalHeaders = signedNames
    .map((name) => `${name}:${(input.headers[name] ?? "").trim()}\n`)
    .join("");
  return [
    input.method.toUpperCase(),
    ossUriEncode(`/${input.bucket}/${input.key}`, true),
    query,
    canonicalHeaders,
    additional.join(";"),
    input.headers["x-oss-content-sha256"] ?? "UNSIGNED-PAYLOAD",
  ].join("\n");
}

export function computeOssSignature(input: SignatureInput): {
  signature: string;
  canonicalRequest: string;
  stringToSign: string;
} {
  const canonicalRequest = buildCanonicalRequest(input);
  const day = input.dateTime.slice(0, 8);
  const stringToSign = [
    ossAlgorithm,
    input.dateTime,
    `${day}/${input.region}/oss/aliyun_v4_request`,
    createHash("sha256").update(canonicalRequest, "utf8").digest("hex"),
  ].join("\n");
  let signingKey = hmac(`aliyun_v4${input.accessKeySecret}`, day);
  for (const part of [input.region, "oss", "aliyun_v4_request"]) signingKey = hmac(signingKey, part);
  return { signature: hmac(signingKey, stringToSign).toString("hex"), canonicalRequest, stringToSign };
}

function isDefaultSignedHeader(name: string): boolean {
  return name === "content-type" || name === "content-md5" || name.startsWith("x-oss-");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}
