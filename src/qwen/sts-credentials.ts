import { asRecord, asString } from "./json-shape.js";

/** Temporary OSS credentials for one upload, from `files/getstsToken` (§1.2, §3.4). */
export interface StsCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  /** The object key, `<user id>/<…>_<filename>`. */
  filePath: string;
  fileId: string;
  /** Where the file will be read from afterwards; its query signs the GET. */
  fileUrl: string | undefined;
  bucketName: string;
  /** As upstream spells it, e.g. `oss-ap-southeast-1`. */
  region: string | undefined;
  /** e.g. `oss-accelerate.aliyuncs.com`; not every reply has it. */
  endpoint: string | undefined;
}

/**
 * The credential fields of a getstsToken reply: v2 wraps them in `data`, v1 sends them flat.
 * Undefined when anything needed to sign and address the upload is missing.
 */
export function readStsCredentials(body: unknown): StsCredentials | undefined {
  const fields = stsFieldsOf(body);
  if (!fields) return undefined;
  const accessKeyId = asString(fields.access_key_id);
  const accessKeySecret = asString(fields.access_key_secret);
  const securityToken = asString(fields.security_token);
  const fileId = asString(fields.file_id);
  const fileUrl = asString(fields.file_url);
  const bucketName = asString(fields.bucketname) ?? asString(fields.bucket_name) ?? asString(fields.bucket);
  const filePath =
    asString(fields.file_path) ?? (fileUrl && bucketName ? keyFromUrl(fileUrl, bucketName) : undefined);
  if (!accessKeyId || !accessKeySecret || !securityToken || !fileId || !bucketName || !filePath)
    return undefined;
  const region = asString(fields.region);
  const endpoint = asString(fields.endpoint);
  // Without a region there is nothing to sign with, unless the endpoint names it.
  if (!region && !regionFromEndpoint(endpoint)) return undefined;
  return {
    accessKeyId,
    accessKeySecret,
    securityToken,
    filePath,
    fileId,
    fileUrl,
    bucketName,
    region,
    endpoint,
  };
}

/** The object holding the credential fields: `data` for v2, the body itself for v1. */
export function stsFieldsOf(body: unknown): Record<string, unknown> | undefined {
  const record = asRecord(body);
  if (!record) return undefined;
  const data = asRecord(record.data);
  if (data && (data.access_key_id !== undefined || data.file_id !== undefined)) return data;
  if (record.access_key_id !== undefined || record.file_id !== undefined) return record;
  return undefined;
}

/** The region OSS V4 signs with: upstream's `oss-ap-southeast-1` becomes `ap-southeast-1`. */
export function signingRegionOf(credentials: Pick<StsCredentials, "region" | "endpoint">): string {
  const region = credentials.region ?? regionFromEndpoint(credentials.endpoint) ?? "";
  return region.replace(/^oss-/, "");
}

/** `oss-ap-southeast-1.aliyuncs.com` → `ap-southeast-1`; the accelerate endpoint names none. */
export function regionFromEndpoint(endpoint: string | undefined): string | undefined {
  const match = /^(?:[^.]+\.)?oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$/i.exec(endpoint ?? "");
  const region = match?.[1];
  if (!region || region.startsWith("accelerate")) return undefined;
  return region;
}

/** The user id the web app puts into attachments: the key's first folder. */
export function userIdOfPath(filePath: string): string | undefined {
  const first = filePath.split("/")[0];
  return first && first !== filePath ? first : undefined;
}

function keyFromUrl(fileUrl: string, bucketName: string): string | undefined {
  let url: URL;
  try {
    url = new URL(fileUrl);
  } catch {
    return undefined;
  }
  let path = url.pathname.replace(/^\//, "");
  if (!url.hostname.startsWith(`${bucketName}.`) && path.startsWith(`${bucketName}/`)) {
    path = path.slice(bucketName.length + 1);
  }
  try {
    return decodeURIComponent(path) || undefined;
  } catch {
    return undefined;
  }
}
