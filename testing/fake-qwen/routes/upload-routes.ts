import { randomBytes, randomUUID } from "node:crypto";
import type { FileRecord } from "../fake-state.js";
import { sendBadRequest, sendJson, sendNotFoundBusiness, sendSuccess } from "../http-replies.js";
import { isRecord, parseJsonObject, type RequestContext } from "../request-context.js";
import { bucketName, cdnPrefix, ossRegion, presignObjectUrl } from "./oss-routes.js";

// Upload credentials (§3.4): v2 wraps the fields in {success,data}, v1 returns them flat.
// Parsing is asynchronous upstream: status stays "pending" for two polls.

const credentialLifetimeSeconds = 3600;
const pendingPolls = 2;

export function handleStsTokenV2(context: RequestContext): void {
  const issued = issueCredentials(context);
  if (typeof issued === "string") sendBadRequest(context.response, issued);
  else sendSuccess(context.response, stsFields(context, issued));
}

export function handleStsTokenV1(context: RequestContext): void {
  const issued = issueCredentials(context);
  if (typeof issued === "string") sendBadRequest(context.response, issued);
  else sendJson(context.response, 200, stsFields(context, issued));
}

export function handleParseFile(context: RequestContext): void {
  const body = parseJsonObject(context.rawBody);
  const file = body && typeof body.file_id === "string" ? context.state.files.get(body.file_id) : undefined;
  if (!file || file.accountId !== context.auth.accountId) {
    sendNotFoundBusiness(context.response);
    return;
  }
  sendSuccess(context.response, { file_id: file.id, status: "pending" });
}

export function handleParseStatus(context: RequestContext): void {
  const body = parseJsonObject(context.rawBody);
  const ids = body && Array.isArray(body.file_id_list) ? body.file_id_list : null;
  if (!ids || ids.length === 0) {
    sendBadRequest(context.response, "Invalid input file_id_list is required.");
    return;
  }
  const statuses = ids.map((id) => {
    const file = typeof id === "string" ? context.state.files.get(id) : undefined;
    if (!file || file.accountId !== context.auth.accountId) return { file_id: id, status: "error" };
    file.statusPolls += 1;
    // Parsing reads the object from OSS; a file that was never uploaded cannot succeed.
    if (file.statusPolls <= pendingPolls) return { file_id: id, status: "pending" };
    return { file_id: id, status: file.object ? "success" : "failed" };
  });
  sendSuccess(context.response, statuses);
}

function issueCredentials(context: RequestContext): FileRecord | string {
  const body = parseJsonObject(context.rawBody);
  if (!isRecord(body)) return "Invalid input the request body is not valid JSON.";
  const { filename, filesize, filetype } = body;
  if (typeof filename !== "string" || filename.trim() === "" || filename.includes("/")) {
    return "Invalid input filename is required.";
  }
  const size = typeof filesize === "string" && /^\d+$/.test(filesize) ? Number(filesize) : filesize;
  if (typeof size !== "number" || !Number.isFinite(size) || size < 0)
    return "Invalid input filesize is required.";
  const accountId = context.auth.accountId as string;
  const file: FileRecord = {
    id: randomUUID(),
    accountId,
    filename,
    filesize: size,
    filetype: typeof filetype === "string" ? filetype : "file",
    filePath: `${accountId}/${randomUUID()}_${filename}`,
    accessKeyId: `STS.${randomBytes(12).toString("base64url")}`,
    accessKeySecret: randomBytes(24).toString("base64url"),
    securityToken: `CAIS${randomBytes(96).toString("base64")}`,
    credentialsExpireAt: Date.now() + credentialLifetimeSeconds * 1000,
    statusPolls: 0,
    object: null,
  };
  context.state.files.set(file.id, file);
  return file;
}

function stsFields(context: RequestContext, file: FileRecord): Record<string, unknown> {
  return {
    access_key_id: file.accessKeyId,
    access_key_secret: file.accessKeySecret,
    security_token: file.securityToken,
    file_url: presignObjectUrl(
      context.state.uploadStyle === "cdn" ? `${context.baseUrl}${cdnPrefix}` : context.baseUrl,
      context.state,
      file,
    ),
    file_path: file.filePath,
    file_id: file.id,
    bucketname: bucketName,
    region: ossRegion,
    // The bucket answers at the fake's own origin, path-style: an address, not Alibaba's DNS.
    endpoint: context.baseUrl,
    expiration: new Date(file.credentialsExpireAt).toISOString(),
  };
}
