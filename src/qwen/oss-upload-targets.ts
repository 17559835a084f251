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
 * Where to PUT an upload, most likely first. Upstream's `file_url` without its query (what
 * the web app and S8 use; path-style or virtual-hosted alike, the signature's canonical URI
 * is always `/<bucket>/<key>`), then `<bucket>.<endpoint>/<key>` as the protocol notes give
 * it, then, after an accelerate endpoint (it does not resolve from everywhere, §8 pitfall 23),
 * the regional one. A URL is tried once.
 */
export function ossUploadTargets(
  credentials: Pick<StsCredentials, "fileUrl" | "filePath" | "bucketName" | "region" | "endpoint">,
): OssUploadTarget[] {
  const region = signingRegionOf(credentials);
  const encodedKey = ossUriEncode(credentials.filePath, { keepSlash: true });
  const candidates = [fromFileUrl(credentials.fileUrl), fromEndpoint(credentials, region, encodedKey)].filter(
    (target): target is OssUploadTarget => target !== undefined,
  );
  const regionalHost = region ? `${credentials.bucketName}.oss-${region}.aliyuncs.com` : undefined;
  if (regionalHost && candidates.some((target) => isAccelerateHost(target.host))) {
    candidates.push({ url: `https://${regionalHost}/${encodedKey}`, host: regionalHost, source: "regional" });
  }
  const seen = new Set<string>();
  return candidates.filter((target) => {
    const key = target.url.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
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

/**
 * `https://<bucket>.<endpoint>/<key>`. An endpoint that names its scheme keeps it, and one
 * that is an address, `localhost` or has a port (an OSS-compatible store, not Alibaba's DNS)
 * takes the bucket in the path instead: `<endpoint>/<bucket>/<key>`.
 */
function fromEndpoint(
  credentials: Pick<StsCredentials, "bucketName" | "endpoint">,
  region: string,
  encodedKey: string,
): OssUploadTarget | undefined {
  const raw = (credentials.endpoint ?? (region ? `oss-${region}.aliyuncs.com` : "")).trim();
  const scheme = /^(https?):\/\//i.exec(raw)?.[1]?.toLowerCase() ?? "https";
  const endpoint = raw.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  if (!endpoint) return undefined;
  if (isAddressLike(endpoint)) {
    return {
      url: `${scheme}://${endpoint}/${credentials.bucketName}/${encodedKey}`,
      host: endpoint,
      source: "endpoint",
    };
  }
  const host = `${credentials.bucketName}.${endpoint}`;
  return { url: `${scheme}://${host}/${encodedKey}`, host, source: "endpoint" };
}

function isAddressLike(hostAndPort: string): boolean {
  if (/:\d+$/.test(hostAndPort) || hostAndPort.startsWith("[")) return true;
  return /^(localhost|\d{1,3}(\.\d{1,3}){3})$/i.test(hostAndPort);
}
