import { createHash, timingSafeEqual } from "node:crypto";
import type { FakeState, FileRecord } from "../fake-state.js";
import { sendOssError } from "../http-replies.js";
import {
  computeOssSignature,
  ossAlgorithm,
  ossUriEncode,
  parseOssAuthorization,
} from "../oss-signature-v4.js";
import { headerValue, type RequestContext, safeDecode } from "../request-context.js";

// The Alibaba OSS bucket stand-in. Uploads must be signed with OSS Signature V4 using the
// STS credentials issued for exactly that object key; downloads need the presigned query
// of file_url (or a V4 header). Errors are OSS-style XML.

export const bucketName = "qwen-webui-prod";
export const ossRegion = "oss-ap-southeast-1";
const signingRegion = ossRegion.replace(/^oss-/, "");
const maximumClockSkewMs = 15 * 60 * 1000;
const presignLifetimeSeconds = 6 * 3600;

type Failure = { status: number; code: string; message: string; extra?: Record<string, string> };

/** Where the `cdn` upload style serves objects from: reads only, as a CDN in front of OSS. */
export const cdnPrefix = "/cdn";

export function isCdnRequest(context: Pick<RequestContext, "path">): boolean {
  return context.path.startsWith(`${cdnPrefix}/${bucketName}/`);
}

export function handleCdnRequest(context: RequestContext): void {
  if (context.method !== "GET" && context.method !== "HEAD") {
    sendOssError(context.response, 403, "AccessDenied", "This distribution only serves reads.");
    return;
  }
  handleOssRequest({ ...context, path: context.path.slice(cdnPrefix.length) });
}

export function isOssRequest(context: Pick<RequestContext, "request" | "path">): boolean {
  const host = headerValue(context.request, "host") ?? "";
  return host.startsWith(`${bucketName}.`) || context.path.startsWith(`/${bucketName}/`);
}

export function handleOssRequest(context: RequestContext): void {
  const key = objectKey(context);
  if (key === "") {
    sendOssError(context.response, 403, "AccessDenied", "Listing this bucket is not allowed.");
    return;
  }
  if (context.method === "PUT") putObject(context, key);
  else if (context.method === "GET") getObject(context, key);
  else sendOssError(context.response, 405, "MethodNotAllowed", "The specified method is not allowed.");
}

/** The presigned GET URL handed out as file_url: path-style, pointing at the fake. */
export function presignObjectUrl(baseUrl: string, state: FakeState, file: FileRecord): string {
  const dateTime = isoBasic(new Date());
  const expires = String(presignLifetimeSeconds);
  const credential = `${file.accessKeyId}/${dateTime.slice(0, 8)}/${signingRegion}/oss/aliyun_v4_request`;
  const query = [
    ["x-oss-credential", credential],
    ["x-oss-date", dateTime],
    ["x-oss-expires", expires],
    ["x-oss-signature-version", ossAlgorithm],
    ["x-oss-signature", state.digest(presignInput(file.filePath, dateTime, expires))],
  ]
    .map(([name, value]) => `${name}=${ossUriEncode(value as string, false)}`)
    .join("&");
  return `${baseUrl}/${bucketName}/${ossUriEncode(file.filePath, true)}?${query}`;
}

function putObject(context: RequestContext, key: string): void {
  const verified = verifySignedRequest(context, key);
  if ("code" in verified) {
    sendOssError(context.response, verified.status, verified.code, verified.message, verified.extra);
    return;
  }
  const file = verified;
  if (file.filePath !== key) {
    sendOssError(context.response, 403, "AccessDenied", "The object key is not covered by the STS policy.");
    return;
  }
  const md5 = createHash("md5").update(context.rawBody).digest();
  const sentMd5 = headerValue(context.request, "content-md5");
  if (sentMd5 !== undefined && sentMd5 !== md5.toString("base64")) {
    sendOssError(context.response, 400, "InvalidDigest", "The Content-MD5 you specified was invalid.");
    return;
  }
  file.object = {
    body: context.rawBody,
    contentType: headerValue(context.request, "content-type") ?? "application/octet-stream",
  };
  context.response.writeHead(200, {
    etag: `"${md5.toString("hex").toUpperCase()}"`,
    "content-length": "0",
    "x-oss-request-id": createHash("sha1").update(key).digest("hex").slice(0, 24).toUpperCase(),
    server: "AliyunOSS",
  });
  context.response.end();
}

function getObject(context: RequestContext, key: string): void {
  const file = context.state.findFileByPath(key);
  const presigned = context.query["x-oss-signature"];
  if (presigned !== undefined) {
    const dateTime = context.query["x-oss-date"] ?? "";
    const expires = context.query["x-oss-expires"] ?? "";
    const issuedAt = parseIsoBasic(dateTime);
    const expected = context.state.digest(presignInput(key, dateTime, expires));
    if (issuedAt === null || !safeEqual(presigned, expected)) {
      sendOssError(
        context.response,
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match.",
      );
      return;
    }
    if (issuedAt + Number(expires) * 1000 < Date.now()) {
      sendOssError(context.response, 403, "AccessDenied", "Request has expired.");
      return;
    }
  } else if (headerValue(context.request, "authorization") !== undefined) {
    const verified = verifySignedRequest(context, key);
    if ("code" in verified) {
      sendOssError(context.response, verified.status, verified.code, verified.message, verified.extra);
      return;
    }
  } else {
    sendOssError(
      context.response,
      403,
      "AccessDenied",
      "You have no right to access this object because of bucket acl.",
    );
    return;
  }
  if (!file?.object) {
    sendOssError(context.response, 404, "NoSuchKey", "The specified key does not exist.");
    return;
  }
  context.response.writeHead(200, {
    "content-type": file.object.contentType,
    "content-length": String(file.object.body.length),
    server: "AliyunOSS",
  });
  context.response.end(file.object.body);
}

/** Checks a V4 Authorization header; returns the file whose credentials signed it. */
function verifySignedRequest(context: RequestContext, key: string): FileRecord | Failure {
  const header = headerValue(context.request, "authorization");
  if (header === undefined) return denied("You have no right to access this object because of bucket acl.");
  const authorization = parseOssAuthorization(header);
  if (!authorization) {
    return header.trim().startsWith(ossAlgorithm)
      ? { status: 400, code: "InvalidArgument", message: "Authorization header is invalid." }
      : denied("Only OSS4-HMAC-SHA256 signatures are accepted for this bucket.");
  }
  const file = context.state.findFileByAccessKey(authorization.accessKeyId);
  if (!file) {
    return {
      status: 403,
      code: "InvalidAccessKeyId",
      message: "The OSS Access Key Id you provided does not exist in our records.",
    };
  }
  if (file.credentialsExpireAt < Date.now()) {
    return {
      status: 403,
      code: "InvalidAccessKeyId",
      message: "The security token you provided has expired.",
    };
  }
  if (headerValue(context.request, "x-oss-security-token") !== file.securityToken) {
    return {
      status: 403,
      code: "InvalidAccessKeyId",
      message: "The security token you provided is invalid.",
    };
  }
  const dateTime = headerValue(context.request, "x-oss-date");
  const signedAt = dateTime === undefined ? null : parseIsoBasic(dateTime);
  if (dateTime === undefined || signedAt === null) return denied("Missing or malformed x-oss-date header.");
  if (Math.abs(signedAt - Date.now()) > maximumClockSkewMs) {
    return {
      status: 403,
      code: "RequestTimeTooSkewed",
      message: "The difference between the request time and the current time is too large.",
    };
  }
  if (authorization.date !== dateTime.slice(0, 8))
    return denied("Invalid signing date in Authorization header.");
  if (authorization.region !== signingRegion)
    return denied("Invalid signing region in Authorization header.");
  if (authorization.service !== "oss" || authorization.terminator !== "aliyun_v4_request") {
    return denied("Invalid credential scope in Authorization header.");
  }
  const payloadHash = headerValue(context.request, "x-oss-content-sha256");
  if (payloadHash === undefined) return denied("Missing x-oss-content-sha256 header.");
  if (
    payloadHash !== "UNSIGNED-PAYLOAD" &&
    payloadHash !== createHash("sha256").update(context.rawBody).digest("hex")
  ) {
    return {
      status: 400,
      code: "InvalidDigest",
      message: "x-oss-content-sha256 does not match the payload.",
    };
  }
  const computed = computeOssSignature({
    method: context.method,
    bucket: bucketName,
    key,
    query: Object.entries(context.query),
    headers: signableHeaders(context),
    additionalHeaders: authorization.additionalHeaders,
    accessKeySecret: file.accessKeySecret,
    dateTime,
    region: signingRegion,
  });
  if (!safeEqual(authorization.signature, computed.signature)) {
    return {
      status: 403,
      code: "SignatureDoesNotMatch",
      message: "The request signature we calculated does not match the signature you provided.",
      extra: { CanonicalRequest: computed.canonicalRequest, StringToSign: computed.stringToSign },
    };
  }
  return file;
}

function signableHeaders(context: RequestContext): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(context.request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  return headers;
}

function objectKey(context: RequestContext): string {
  const host = headerValue(context.request, "host") ?? "";
  const rawPath = host.startsWith(`${bucketName}.`)
    ? context.path
    : context.path.slice(bucketName.length + 1);
  return safeDecode(rawPath.replace(/^\//, ""));
}

function presignInput(key: string, dateTime: string, expires: string): string {
  return `GET\n${key}\n${dateTime}\n${expires}`;
}

function denied(message: string): Failure {
  return { status: 403, code: "AccessDenied", message };
}

function isoBasic(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

function parseIsoBasic(text: string): number | null {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return null;
  const [year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0] = match.slice(1).map(Number);
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

function safeEqual(left: string, right: string): boolean {
  const leftBytes = Buffer.from(left);
  const rightBytes = Buffer.from(right);
  return leftBytes.length === rightBytes.length && timingSafeEqual(leftBytes, rightBytes);
}
