import { ossUriEncode } from "./oss-signer.js";
import { type StsCredentials, signingRegionOf } from "./sts-credentials.js";

/** One URL an upload may be PUT to, most preferred first. */
export interface OssUploadTarget {
  /** Absolute, without query: the signature travels in headers, not in the URL. */
  url: string;
  host: string;
  /** file-url: upstream's own URL; endpoint: built from bucket and endpoint; regional: the fallback. */
  source: "file-url" | "endpoint" | "regional";
}

/**
 * Where to PUT an upload. Upstream's `file_url` without its query is the first choice (it is
 * what the web app uses; path-style or virtual-hosted alike, the signature's canonical URI
 * is always `/<bucket>/<key>`), else `https://<bucket>.<endpoint>/<key>`. The accelerate
 * endpoint does not resolve from everywhere (protocol notes §8 pitfall 23), so a regional
 * endpoint follows it as a fallback.
 */
export function ossUploadTargets(
  credentials: Pick<StsCredentials, "fileUrl" | "filePath" | "bucketName" | "region" | "endpoint">,
): OssUploadTarget[] {
  const region = signingRegionOf(credentials);
  const encodedKey = ossUriEncode(credentials.filePath, { keepSlash: true });
  const primary = fromFileUrl(credentials.fileUrl) ?? fromEndpoint(credentials, region, encodedKey);
  const targets = primary ? [primary] : [];
  const regionalHost = region ? `${credentials.bucketName}.oss-${region}.aliyuncs.com` : undefined;
  if (regionalHost && primary && isAccelerateHost(primary.host)) {
    targets.push({ url: `https://${regionalHost}/${encodedKey}`, host: regionalHost, source: "regional" });
  }
  return targets;
}

/** `oss-accelerate.aliyuncs.com`, `oss-accelerate-overseas.aliyuncs.com` and their buckets. */
export function isAccelerateHost(host: string): boolean {
  return /(^|\.)oss-accelerate(-overseas)?\.aliyuncs\.com$/i.test(host);
}

function fromFileUrl(fileUrl: string | undefined): OssUploadTarget | undefined {
  if (!fileUrl) return undefined;
  let url: URL;
  try {
    url = new URL(fileUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  return { url: `${url.origin}${url.pathname}`, host: url.host, source: "file-url" };
}

function fromEndpoint(
  credentials: Pick<StsCredentials, "bucketName" | "endpoint">,
  region: string,
  encodedKey: string,
): OssUploadTarget | undefined {
  const endpoint = (credentials.endpoint ?? (region ? `oss-${region}.aliyuncs.com` : ""))
    .replace(/^[a-z]+:\/\//i, "")
    .replace(/\/+$/, "");
  if (!endpoint) return undefined;
  const host = `${credentials.bucketName}.${endpoint}`;
  return { url: `https://${host}/${encodedKey}`, host, source: "endpoint" };
}
