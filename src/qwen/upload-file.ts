import { QwenError } from "../errors.js";
import type { Transport } from "../transport/transport.js";
import type { QwenFileAttachment } from "./chat-types.js";
import { type PostJson, parseDocument } from "./document-parsing.js";
import { buildFileAttachment, type UploadKind, uploadKindOf } from "./file-attachment.js";
import { ossUploadTargets } from "./oss-upload-targets.js";
import { putOssObject } from "./put-oss-object.js";
import { readStsCredentials, type StsCredentials, stsFieldsOf, userIdOfPath } from "./sts-credentials.js";

export interface UploadFileInput {
  bytes: Uint8Array;
  filename: string;
  /** MIME type; decides image/video/audio/file and whether upstream parses the file. */
  contentType: string;
  signal?: AbortSignal;
}

export interface UploadedFile {
  fileId: string;
  /** Upstream's signed `file_url`: the URL the web app puts into the attachment. */
  url: string;
  name: string;
  size: number;
  contentType: string;
  kind: UploadKind;
  /** Ready for `files[]` of a completion of the same account. */
  attachment: QwenFileAttachment;
  userId?: string;
}

export interface UploadDependencies {
  /** Authenticated JSON POST to chat.qwen.ai (through the account's own transport). */
  postJson: PostJson;
  /** Plain HTTP for the OSS PUT (see put-oss-object.ts for why not the account's transport). */
  ossTransport: Transport;
  userAgent?: string;
  parsePollIntervalMs: number;
  parseTimeoutMs: number;
  now?: () => Date;
}

const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/**
 * The web app's upload (§3.4): credentials from getstsToken, a V4-signed PUT straight to
 * Alibaba OSS, and for documents a parse that must finish before a completion can read them.
 * The file belongs to the account that uploaded it: another account's completion is refused.
 */
export async function uploadFile(
  dependencies: UploadDependencies,
  input: UploadFileInput,
): Promise<UploadedFile> {
  const name = safeFilename(input.filename);
  const contentType = input.contentType.trim() || DEFAULT_CONTENT_TYPE;
  const kind = uploadKindOf(contentType);
  const size = input.bytes.byteLength;
  const { credentials } = await requestStsToken(
    dependencies.postJson,
    { filename: name, filesize: size, filetype: kind },
    input.signal,
  );
  const target = await putOssObject({
    transport: dependencies.ossTransport,
    targets: ossUploadTargets(credentials),
    credentials,
    bytes: input.bytes,
    contentType,
    userAgent: dependencies.userAgent,
    signal: input.signal,
    now: dependencies.now,
  });
  if (kind === "file") {
    await parseDocument({
      postJson: dependencies.postJson,
      fileId: credentials.fileId,
      pollIntervalMs: dependencies.parsePollIntervalMs,
      timeoutMs: dependencies.parseTimeoutMs,
      signal: input.signal,
    });
  }
  // Without file_url there is no signed read URL; the object URL is the best left.
  const url = credentials.fileUrl ?? target.url;
  const userId = userIdOfPath(credentials.filePath);
  const attachment = buildFileAttachment({
    fileId: credentials.fileId,
    url,
    name,
    size,
    contentType,
    kind,
    userId,
    nowMs: dependencies.now?.().getTime(),
  });
  return {
    fileId: credentials.fileId,
    url,
    name,
    size,
    contentType,
    kind,
    attachment,
    ...(userId ? { userId } : {}),
  };
}

export interface StsToken {
  /** The credential fields as upstream sent them (v2's `data`, or v1's flat body). */
  fields: Record<string, unknown>;
  credentials: StsCredentials;
}

/**
 * Upload credentials. Upstream moved getstsToken from a flat v1 reply to a wrapped v2 one
 * (§8 pitfall 20); v1 is the fallback when v2 is gone or answers in a shape not understood.
 * Every other failure (rate limit, token, anti-bot) is the account's and is thrown as is.
 */
export async function requestStsToken(
  postJson: PostJson,
  body: unknown,
  signal: AbortSignal | undefined,
): Promise<StsToken> {
  try {
    const token = readStsToken(await postJson("/api/v2/files/getstsToken", body, signal));
    if (token) return token;
  } catch (error) {
    if (!(error instanceof QwenError) || (error.code !== "not_found" && error.code !== "invalid_response")) {
      throw error;
    }
  }
  const reply = await postJson("/api/v1/files/getstsToken", body, signal);
  const token = readStsToken(reply);
  if (!token) {
    // Only the field names: the values may be half a set of live credentials.
    const names = Object.keys(
      stsFieldsOf(reply) ?? (reply !== null && typeof reply === "object" ? reply : {}),
    );
    throw new QwenError("invalid_response", "Upstream's upload credentials were unreadable", {
      details: `fields: ${names.join(", ") || "none"}`.slice(0, 300),
    });
  }
  return token;
}

function readStsToken(reply: unknown): StsToken | undefined {
  const fields = stsFieldsOf(reply);
  const credentials = readStsCredentials(reply);
  return fields && credentials ? { fields, credentials } : undefined;
}

/** The name becomes part of the object key, where a "/" would open a folder upstream refuses. */
function safeFilename(filename: string): string {
  const name = filename.replace(/[/\\]/g, "_").trim();
  return name === "" ? "file" : name;
}
