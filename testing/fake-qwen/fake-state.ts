import { createHash, randomBytes, randomUUID } from "node:crypto";
import { signJwt, verifyJwt } from "./jwt.js";

// Everything the fake remembers, in memory. Ownership is recorded everywhere because the
// real service scopes chats, threads, files and tasks to the account that created them.

export interface AccountRecord {
  id: string;
  email: string;
  name: string;
  password: string;
}

export interface ChatMessageRecord {
  id: string;
  role: "user" | "assistant";
  parentId: string | null;
  childrenIds: string[];
  content: string;
  timestamp: number;
  model: string;
  chatType: string;
  files: unknown[];
  reasoningContent: string;
  contentList: Array<Record<string, unknown>>;
  extra: Record<string, unknown>;
}

export interface ChatRecord {
  id: string;
  accountId: string;
  title: string;
  chatType: string;
  models: string[];
  createdAt: number;
  updatedAt: number;
  /** Monotonic tie-breaker so "newest first" is stable within one second. */
  sequence: number;
  messages: ChatMessageRecord[];
  /** response_id -> thread depth (turn number) of that response. */
  responseDepths: Map<string, number>;
}

export interface FileRecord {
  id: string;
  accountId: string;
  filename: string;
  filesize: number;
  filetype: string;
  filePath: string;
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  credentialsExpireAt: number;
  statusPolls: number;
  object: { body: Buffer; contentType: string } | null;
}

export interface TaskRecord {
  id: string;
  accountId: string;
  polls: number;
  videoUrl: string;
}

export type TokenCheck =
  | { ok: true; accountId: string }
  | { ok: false; reason: "malformed" | "unknown" | "revoked" | "expired" };

const thirtyDaysInSeconds = 30 * 24 * 3600;

export class FakeState {
  readonly accounts = new Map<string, AccountRecord>();
  readonly chats = new Map<string, ChatRecord>();
  readonly files = new Map<string, FileRecord>();
  readonly tasks = new Map<string, TaskRecord>();
  /** Paths under /output/ that were generated, mapped to the owning account. */
  readonly mediaAssets = new Map<string, { accountId: string; kind: "png" | "mp4" }>();
  /**
   * What upload credentials point at. `oss`: `file_url` is a presigned URL on the bucket that
   * also takes the signed PUT (what S8 relies on). `cdn`: `file_url` is on a CDN that only
   * serves reads, and only `endpoint` (here the fake's own origin) takes the upload.
   */
  uploadStyle: "oss" | "cdn" = "oss";
  /** The one task poll route that exists; the other version answers HTTP 404 (§1.2). */
  taskStatusRoute: "v1" | "v2" = "v1";
  /** Chat detail history: the flat `chat.messages` array (2026-08) or the older id map. */
  chatDetailShape: "array" | "map" = "array";
  private readonly sessions = new Map<string, { accountId: string; revoked: boolean }>();
  private readonly secret = randomBytes(32);
  private chatSequence = 0;

  addAccount(input: { email?: string; password?: string; name?: string } = {}): AccountRecord {
    const id = randomUUID();
    const account: AccountRecord = {
      id,
      email: input.email ?? `user-${id.slice(0, 8)}@example.com`,
      name: input.name ?? `User ${id.slice(0, 4)}`,
      password: input.password ?? `password-${id.slice(0, 8)}`,
    };
    this.accounts.set(id, account);
    return account;
  }

  findAccountByEmail(email: string): AccountRecord | undefined {
    const wanted = email.trim().toLowerCase();
    for (const account of this.accounts.values()) {
      if (account.email.toLowerCase() === wanted) return account;
    }
    return undefined;
  }

  issueToken(accountId: string, expiresInSeconds = thirtyDaysInSeconds): string {
    if (!this.accounts.has(accountId)) throw new Error(`fake-qwen: unknown account ${accountId}`);
    const issuedAt = nowSeconds();
    // The nonce keeps two tokens issued within the same second distinct, so revoking one
    // never revokes the other.
    const token = signJwt(
      { id: accountId, exp: issuedAt + expiresInSeconds, iat: issuedAt, jti: randomUUID() },
      this.secret,
    );
    this.sessions.set(token, { accountId, revoked: false });
    return token;
  }

  revokeToken(token: string): void {
    const session = this.sessions.get(token);
    if (session) session.revoked = true;
  }

  checkToken(token: string): TokenCheck {
    const verification = verifyJwt(token, this.secret, nowSeconds());
    if (!verification.ok && verification.reason !== "expired") {
      return { ok: false, reason: verification.reason === "malformed" ? "malformed" : "unknown" };
    }
    const session = this.sessions.get(token);
    if (!session || !this.accounts.has(session.accountId)) return { ok: false, reason: "unknown" };
    if (session.revoked) return { ok: false, reason: "revoked" };
    if (!verification.ok) return { ok: false, reason: "expired" };
    return { ok: true, accountId: session.accountId };
  }

  /** A media `key`: signed like a session token but never usable as one. */
  issueMediaKey(accountId: string): string {
    const issuedAt = nowSeconds();
    return signJwt({ id: accountId, exp: issuedAt + 24 * 3600, iat: issuedAt, scope: "cdn" }, this.secret);
  }

  isValidMediaKey(key: string): boolean {
    const verification = verifyJwt(key, this.secret, nowSeconds());
    return verification.ok && verification.payload.scope === "cdn";
  }

  /** A keyed digest for URLs the fake signs itself (presigned OSS GETs). */
  digest(text: string): string {
    return createHash("sha256").update(this.secret).update(text).digest("hex");
  }

  createChat(input: { accountId: string; title: string; chatType: string; models: string[] }): ChatRecord {
    const now = nowSeconds();
    this.chatSequence += 1;
    const chat: ChatRecord = {
      id: randomUUID(),
      accountId: input.accountId,
      title: input.title,
      chatType: input.chatType,
      models: input.models,
      createdAt: now,
      updatedAt: now,
      sequence: this.chatSequence,
      messages: [],
      responseDepths: new Map(),
    };
    this.chats.set(chat.id, chat);
    return chat;
  }

  touchChat(chat: ChatRecord): void {
    this.chatSequence += 1;
    chat.updatedAt = nowSeconds();
    chat.sequence = this.chatSequence;
  }

  ownedChat(chatId: string, accountId: string): ChatRecord | undefined {
    const chat = this.chats.get(chatId);
    return chat && chat.accountId === accountId ? chat : undefined;
  }

  chatsOf(accountId: string): ChatRecord[] {
    return [...this.chats.values()]
      .filter((chat) => chat.accountId === accountId)
      .sort((left, right) => right.sequence - left.sequence);
  }

  findFileByAccessKey(accessKeyId: string): FileRecord | undefined {
    for (const file of this.files.values()) {
      if (file.accessKeyId === accessKeyId) return file;
    }
    return undefined;
  }

  findFileByPath(filePath: string): FileRecord | undefined {
    for (const file of this.files.values()) {
      if (file.filePath === filePath) return file;
    }
    return undefined;
  }
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
