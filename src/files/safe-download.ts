import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";
import { Agent, request } from "undici";
import { InputError } from "../errors.js";

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs?: number;
  /** Private, loopback and link-local addresses are refused unless this is set. */
  allowPrivate?: boolean;
  signal?: AbortSignal;
  /** Named in errors, e.g. `messages.0.content.1.image_url`. */
  param?: string;
}

export interface Downloaded {
  bytes: Buffer;
  contentType: string | undefined;
  /** The last path segment, as a file name. */
  name: string;
}

const MAX_REDIRECTS = 3;

/** Addresses a request from this machine must not reach on a client's say-so (SSRF). */
const FORBIDDEN = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  FORBIDDEN.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  ["::ffff:0:0", 96],
] as const) {
  FORBIDDEN.addSubnet(network, prefix, "ipv6");
}

export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return FORBIDDEN.check(address, family === 4 ? "ipv4" : "ipv6");
}

/**
 * The address check happens at connection time, on the very addresses connected to, so a
 * name that resolves to a public address once and a private one later (DNS rebinding)
 * cannot slip through.
 */
function guardedLookup(allowPrivate: boolean) {
  return (
    hostname: string,
    options: { all?: boolean },
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    dnsLookup(hostname, { all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const allowed = allowPrivate
        ? addresses
        : addresses.filter((entry) => !isForbiddenAddress(entry.address));
      if (allowed.length === 0) {
        return callback(
          Object.assign(new Error(`${hostname} resolves to a private address`), { code: "EFORBIDDEN" }),
          [],
        );
      }
      if (options.all) return callback(null, allowed);
      const first = allowed[0]!;
      callback(null, first.address, first.family);
    });
  };
}

const agents = new Map<boolean, Agent>();
function agentFor(allowPrivate: boolean): Agent {
  let agent = agents.get(allowPrivate);
  if (!agent) {
    agent = new Agent({ connect: { lookup: guardedLookup(allowPrivate) }, connections: 8 });
    agents.set(allowPrivate, agent);
  }
  return agent;
}

/**
 * Fetches a client-given URL with a time limit, a size cap and no access to this machine's
 * private network. Failures are InputErrors a surface can answer with as they are.
 */
export async function downloadFile(url: string, options: DownloadOptions): Promise<Downloaded> {
  const param = options.param ?? null;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 20_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let current = url;
  for (let redirect = 0; ; redirect++) {
    const target = checkUrl(current, options.allowPrivate === true, param);
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(target, {
        method: "GET",
        dispatcher: agentFor(options.allowPrivate === true),
        signal,
        headers: { accept: "image/*,application/pdf,text/*,*/*;q=0.5", "user-agent": "FreeQwenApi" },
      });
    } catch (error) {
      throw downloadError(error, url, param, timeout.aborted);
    }
    const location = response.headers.location;
    if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === "string") {
      await response.body.dump();
      if (redirect >= MAX_REDIRECTS) {
        throw new InputError(`Too many redirects fetching ${url}`, { code: "download_failed", param });
      }
      current = new URL(location, target).toString();
      continue;
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new InputError(`Fetching ${url} answered HTTP ${response.statusCode}`, {
        code: "download_failed",
        param,
      });
    }
    const declared = Number(response.headers["content-length"]);
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      await response.body.dump();
      throw tooLarge(url, options.maxBytes, param);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        size += (chunk as Buffer).byteLength;
        if (size > options.maxBytes) {
          response.body.destroy();
          throw tooLarge(url, options.maxBytes, param);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw downloadError(error, url, param, timeout.aborted);
    }
    const contentType = response.headers["content-type"];
    const name = decodeURIComponent(new URL(target).pathname.split("/").pop() || "download");
    return {
      bytes: Buffer.concat(chunks),
      contentType: typeof contentType === "string" ? contentType : undefined,
      name,
    };
  }
}

function checkUrl(value: string, allowPrivate: boolean, param: string | null): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`Not a URL: ${value.slice(0, 100)}`, { code: "invalid_url", param });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InputError("Only http(s) URLs can be fetched", { code: "invalid_url", param });
  }
  if (url.username || url.password) {
    throw new InputError("URLs with credentials are not fetched", { code: "invalid_url", param });
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  // A literal address skips the resolver, so it is checked here.
  if (!allowPrivate && (isIP(host) !== 0 ? isForbiddenAddress(host) : host === "localhost")) {
    throw forbidden(value, param);
  }
  return url;
}

function forbidden(url: string, param: string | null): InputError {
  return new InputError(`Refusing to fetch ${url}: it points into a private network`, {
    code: "forbidden_url",
    param,
  });
}

function tooLarge(url: string, maxBytes: number, param: string | null): InputError {
  return new InputError(`${url} is larger than ${Math.floor(maxBytes / 1024 / 1024)} MB`, {
    status: 413,
    code: "file_too_large",
    param,
  });
}

function downloadError(error: unknown, url: string, param: string | null, timedOut: boolean): InputError {
  const code = (error as { code?: unknown } | null)?.code;
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  if (code === "EFORBIDDEN" || cause === "EFORBIDDEN") return forbidden(url, param);
  if (timedOut) return new InputError(`Fetching ${url} took too long`, { code: "download_timeout", param });
  const message = error instanceof Error ? error.message : String(error);
  return new InputError(`Could not fetch ${url}: ${message}`, { code: "download_failed", param });
}
