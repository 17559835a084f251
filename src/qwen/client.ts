import { createHash } from "node:crypto";
import { QwenError } from "../errors.js";
import type { QwenEvent } from "../events.js";
import { DirectTransport } from "../transport/direct.js";
import type { HttpMethod, Transport } from "../transport/transport.js";
import { type BrowserIdentity, resolveIdentity } from "./browser-identity.js";
import { classifyBusinessError, classifyHttpFailure, looksLikeHtml, tryParseJson } from "./classify-error.js";
import { buildCompletionBody, type CompletionInput } from "./completion-request.js";
import { type CredentialsSource, type QwenCredentials, readCredentials } from "./credentials.js";
import { buildHeaders } from "./headers.js";
import { asRecord, asString } from "./json-shape.js";
import { parseModelList, type QwenModel } from "./models.js";
import { buildNewChatBody, type NewChatInput, readNewChatId } from "./new-chat-request.js";
import { readBodyText } from "./read-body-text.js";
import { readCompletion } from "./read-completion.js";
import { requestStsToken, type UploadedFile, type UploadFileInput, uploadFile } from "./upload-file.js";

export interface QwenClientOptions {
  /** `https://chat.qwen.ai`, or the fake upstream in tests. */
  baseUrl: string;
  transport: Transport;
  /** Needed for everything but the model list and sign-in. */
  credentials?: CredentialsSource;
  identity?: Partial<BrowserIdentity>;
  /** How long to wait for upstream to start answering. */
  headersTimeoutMs?: number;
  /** How long a stream may stay silent (thinking models pause for a while). */
  idleTimeoutMs?: number;
  /**
   * Plain HTTP for the OSS upload PUT. Never the account's auto transport: OSS answers 200
   * with an empty body, which that transport takes for the anti-bot wall. Created lazily
   * (and closed by `close()`) when absent.
   */
  uploadTransport?: Transport;
  /** How often to ask whether an uploaded document is parsed (the web app: about 1 s). */
  parsePollIntervalMs?: number;
  /** How long to wait for document parsing before giving up. */
  parseTimeoutMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface QwenUser {
  id: string;
  email?: string;
  name?: string;
  role?: string;
}

export type TaskState = "pending" | "success" | "failed";

export interface TaskStatus {
  state: TaskState;
  /** Upstream's own word for the state. */
  rawStatus: string;
  /** The video URL once the task succeeded. */
  url?: string;
}

const JSON_LIMIT_BYTES = 8 * 1024 * 1024;
const DEFAULT_PARSE_POLL_INTERVAL_MS = 1_000;
const DEFAULT_PARSE_TIMEOUT_MS = 120_000;

/**
 * The chat.qwen.ai web API for one account. Knows requests and responses; knows nothing of
 * local chats, other accounts or HTTP surfaces.
 */
export class QwenClient {
  readonly baseUrl: string;
  readonly identity: BrowserIdentity;
  readonly #transport: Transport;
  readonly #credentials: CredentialsSource | undefined;
  readonly #headersTimeoutMs: number | undefined;
  readonly #idleTimeoutMs: number | undefined;
  readonly #uploadTransport: Transport | undefined;
  #ownUploadTransport: DirectTransport | undefined;
  /** Where task status answers: v1 now, v2 before (§1.2); switched when one is a 404. */
  #taskStatusVersion: "v1" | "v2" = "v1";
  readonly #parsePollIntervalMs: number;
  readonly #parseTimeoutMs: number;

  constructor(options: QwenClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.identity = resolveIdentity(options.identity);
    this.#transport = options.transport;
    this.#credentials = options.credentials;
    this.#headersTimeoutMs = options.headersTimeoutMs;
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#uploadTransport = options.uploadTransport;
    this.#parsePollIntervalMs = options.parsePollIntervalMs ?? DEFAULT_PARSE_POLL_INTERVAL_MS;
    this.#parseTimeoutMs = options.parseTimeoutMs ?? DEFAULT_PARSE_TIMEOUT_MS;
  }

  /** Creates an upstream chat; every later turn of it must use this same account. */
  async createChat(input: NewChatInput, options: CallOptions = {}): Promise<string> {
    const body = await this.#json("POST", "/api/v2/chats/new", {
      body: buildNewChatBody(input),
      refererPath: "/c/new-chat",
      signal: options.signal,
    });
    const chatId = readNewChatId(body);
    if (!chatId) {
      throw new QwenError(
        "bad_request",
        "Upstream created no chat id; its web app version probably moved on (set QWEN_SPA_VERSION)",
        { details: JSON.stringify(body).slice(0, 300) },
      );
    }
    return chatId;
  }

  /**
   * Sends one user turn and yields the reply as events. Throws QwenError for every failure,
   * including an empty or cut-off reply. Stopping the iteration aborts the upstream request.
   */
  async *streamCompletion(input: CompletionInput, options: CallOptions = {}): AsyncGenerator<QwenEvent> {
    const credentials = await this.#requireCredentials();
    const body = buildCompletionBody(input);
    const response = await this.#transport.request({
      method: "POST",
      url: `${this.baseUrl}/api/v2/chat/completions?chat_id=${encodeURIComponent(input.chatId)}`,
      headers: buildHeaders({
        identity: this.identity,
        credentials,
        baseUrl: this.baseUrl,
        refererPath: `/c/${input.chatId}`,
        accept: body.stream ? "stream" : "json",
        hasJsonBody: true,
      }),
      body: JSON.stringify(body),
      signal: options.signal,
      headersTimeoutMs: this.#headersTimeoutMs,
      idleTimeoutMs: this.#idleTimeoutMs,
    });
    yield* readCompletion(response);
  }

  /** The live model list. Works without credentials, but sends them when it has them. */
  async listModels(options: CallOptions = {}): Promise<QwenModel[]> {
    const authenticate = this.#credentials !== undefined;
    const fetchList = (path: string, withToken: boolean) =>
      this.#json("GET", path, { signal: options.signal, authenticate: withToken });
    let body: unknown;
    try {
      body = await fetchList("/api/models", authenticate);
    } catch (error) {
      if (!(error instanceof QwenError)) throw error;
      // The list needs no sign-in: a refused token must not hide it. A 404 means the route
      // moved; the v2 list (§1.2) has the same models with fewer details.
      if (error.code === "unauthorized" && authenticate) body = await fetchList("/api/models", false);
      else if (error.code === "not_found") body = await fetchList("/api/v2/models", authenticate);
      else throw error;
    }
    const models = parseModelList(body);
    if (models.length === 0) {
      throw new QwenError("invalid_response", "Upstream's model list was empty or unreadable");
    }
    return models;
  }

  /** Checks the token: the account behind it, or QwenError `unauthorized`. */
  async getCurrentUser(options: CallOptions = {}): Promise<QwenUser> {
    // The trailing slash matters: without it upstream answers 401 for a good token.
    const body = asRecord(await this.#json("GET", "/api/v1/auths/", { signal: options.signal }));
    const id = asString(body?.id);
    if (!body || !id) throw new QwenError("unauthorized", "Upstream did not return the signed-in user");
    return { id, email: asString(body.email), name: asString(body.name), role: asString(body.role) };
  }

  /** Deletes an upstream chat. A chat that is already gone counts as deleted. */
  async deleteChat(chatId: string, options: CallOptions = {}): Promise<void> {
    try {
      await this.#json("DELETE", `/api/v2/chats/${encodeURIComponent(chatId)}`, { signal: options.signal });
    } catch (error) {
      if (error instanceof QwenError && (error.code === "not_found" || error.code === "chat_not_found"))
        return;
      throw error;
    }
  }

  async listChats(options: CallOptions & { page?: number } = {}): Promise<Record<string, unknown>[]> {
    const page = options.page ?? 1;
    const body = asRecord(
      await this.#json("GET", `/api/v2/chats/?page=${page}&exclude_project=true`, { signal: options.signal }),
    );
    const data = body?.data;
    return Array.isArray(data) ? data.filter((item) => asRecord(item) !== undefined) : [];
  }

  async getChat(chatId: string, options: CallOptions = {}): Promise<Record<string, unknown>> {
    const body = asRecord(
      await this.#json("GET", `/api/v2/chats/${encodeURIComponent(chatId)}`, { signal: options.signal }),
    );
    const data = asRecord(body?.data);
    if (!data) throw new QwenError("invalid_response", "Upstream's chat detail had no data");
    return data;
  }

  /** Polls a video task. The task belongs to the account that created it. */
  async getTaskStatus(taskId: string, options: CallOptions = {}): Promise<TaskStatus> {
    const path = (version: string) => `/api/${version}/tasks/status/${encodeURIComponent(taskId)}`;
    const tried = this.#taskStatusVersion;
    let answer: unknown;
    try {
      answer = await this.#json("GET", path(tried), { signal: options.signal });
    } catch (error) {
      // The route has moved between v1 and v2 before (§1.2): an HTTP 404 tries the other.
      const moved = error instanceof QwenError && error.code === "not_found" && error.upstreamStatus === 404;
      if (!moved) throw error;
      const other = tried === "v1" ? "v2" : "v1";
      answer = await this.#json("GET", path(other), { signal: options.signal });
      this.#taskStatusVersion = other;
    }
    const body = asRecord(answer);
    const record = asRecord(body?.data) ?? body;
    const rawStatus = (asString(record?.task_status) ?? asString(record?.status) ?? "").toLowerCase();
    const state: TaskState = /success|succeeded|finished|completed/.test(rawStatus)
      ? "success"
      : /fail|error/.test(rawStatus)
        ? "failed"
        : "pending";
    const url = asString(record?.content) ?? asString(record?.url);
    return { state, rawStatus, ...(state === "success" && url ? { url } : {}) };
  }

  /**
   * Uploads a file for this account (credentials, signed OSS PUT, parsing for documents) and
   * returns the attachment for a completion's `files`. Only this account can use it.
   */
  async uploadFile(input: UploadFileInput): Promise<UploadedFile> {
    return uploadFile(
      {
        postJson: (path, body, signal) => this.#json("POST", path, { body, signal }),
        ossTransport: this.#ossTransport(),
        userAgent: this.identity.userAgent,
        parsePollIntervalMs: this.#parsePollIntervalMs,
        parseTimeoutMs: this.#parseTimeoutMs,
      },
      input,
    );
  }

  /**
   * Raw upload credentials for a caller that uploads by itself (the proxy's compatibility
   * endpoint): the credential fields of the v2 reply's `data`, or of the flat v1 reply.
   */
  async getStsToken(
    body: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<Record<string, unknown>> {
    const token = await requestStsToken(
      (path, requestBody, signal) => this.#json("POST", path, { body: requestBody, signal }),
      body,
      options.signal,
    );
    return token.fields;
  }

  /** Releases what the client created itself (the upload transport); never the account's transport. */
  async close(): Promise<void> {
    const own = this.#ownUploadTransport;
    this.#ownUploadTransport = undefined;
    await own?.close();
  }

  #ossTransport(): Transport {
    if (this.#uploadTransport) return this.#uploadTransport;
    this.#ownUploadTransport ??= new DirectTransport({ connections: 4 });
    return this.#ownUploadTransport;
  }

  async #requireCredentials(): Promise<QwenCredentials> {
    if (!this.#credentials)
      throw new QwenError("unauthorized", "No Qwen token is configured for this account");
    return readCredentials(this.#credentials);
  }

  async #json(
    method: HttpMethod,
    path: string,
    options: { body?: unknown; refererPath?: string; signal?: AbortSignal; authenticate?: boolean },
  ): Promise<unknown> {
    const credentials = options.authenticate === false ? undefined : await this.#requireCredentials();
    return requestJson(this.#transport, {
      method,
      url: `${this.baseUrl}${path}`,
      headers: buildHeaders({
        identity: this.identity,
        credentials,
        baseUrl: this.baseUrl,
        refererPath: options.refererPath,
        accept: "json",
        hasJsonBody: options.body !== undefined,
      }),
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      headersTimeoutMs: this.#headersTimeoutMs,
    });
  }
}

/**
 * One JSON request. Every failure shape (status, HTML page, HTTP 200 business error) becomes
 * a QwenError.
 */
async function requestJson(
  transport: Transport,
  request: Parameters<Transport["request"]>[0],
): Promise<unknown> {
  const response = await transport.request(request);
  let text: string;
  try {
    const body = await readBodyText(response.body, JSON_LIMIT_BYTES);
    if (body.truncated) throw new QwenError("invalid_response", "Upstream's answer was too large");
    text = body.text;
  } finally {
    response.cancel();
  }
  // Some gateways hide the real status behind a 200 and name it in this header (§4.6, S1).
  const hidden = Number.parseInt(response.headers["x-actual-status-code"] ?? "", 10);
  const ok = response.status >= 200 && response.status < 300 && !(hidden >= 400);
  const json = tryParseJson(text);
  if (!ok || json === undefined || looksLikeHtml(text)) {
    // Some calls (a parse request, a deletion) answer a success with nothing or a bare "OK";
    // callers that need fields find them missing and say so themselves.
    if (ok && !looksLikeHtml(text) && !/^\s*[[{]/.test(text)) return {};
    throw classifyHttpFailure(response.status, response.headers, text);
  }
  const error = classifyBusinessError(json, response.status);
  if (error) throw error;
  return json;
}

export interface SignInOptions {
  baseUrl: string;
  transport: Transport;
  email: string;
  password: string;
  identity?: Partial<BrowserIdentity>;
  signal?: AbortSignal;
}

/**
 * Password sign-in. Upstream wants the SHA-256 hex of the password, never the plain text.
 * Returns the session token.
 */
export async function signIn(options: SignInOptions): Promise<string> {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const body = {
    email: options.email,
    password: createHash("sha256").update(options.password, "utf8").digest("hex"),
  };
  let json: unknown;
  try {
    json = await requestJson(options.transport, {
      method: "POST",
      url: `${baseUrl}/api/v1/auths/signin`,
      headers: buildHeaders({
        identity: resolveIdentity(options.identity),
        baseUrl,
        refererPath: "/auth?action=signin",
        accept: "json",
        hasJsonBody: true,
      }),
      body: JSON.stringify(body),
      signal: options.signal,
    });
  } catch (error) {
    // A 400 here means wrong email or password, not a malformed request.
    if (error instanceof QwenError && error.code === "bad_request") {
      throw new QwenError("unauthorized", `Sign-in refused: ${error.details ?? "wrong email or password"}`, {
        upstreamStatus: error.upstreamStatus,
        details: error.details,
      });
    }
    throw error;
  }
  const token = asString(asRecord(json)?.token);
  if (!token) throw new QwenError("invalid_response", "Sign-in answered without a token");
  return token;
}
