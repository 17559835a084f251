// Public types of the fake chat.qwen.ai server. Other code (client tests, the demo mode)
// depends on these exact shapes, so change them only together with their users.

export interface FakeQwenOptions {
  /** Port to listen on; 0 picks a random free port. */
  port?: number;
  /** Interface to bind; defaults to 127.0.0.1. */
  host?: string;
  /** Delay between SSE events in milliseconds (default 1). */
  chunkDelayMs?: number;
  /** SPA build below which `chats/new` answers 200 with no usable id (default "0.2.60"). */
  minSpaVersion?: string;
  /** Seed for the deterministic byte splitting and delta sizes. */
  seed?: number;
  /**
   * How many status polls a video task needs before it reports `success` (default 3:
   * `pending`, `running`, `success`). 1 makes a task done at its first poll, for tests that
   * cannot afford a client's polling interval; earlier polls say `pending`, then `running`.
   */
  taskPollsToSuccess?: number;
}

export interface FakeAccount {
  id: string;
  email: string;
  name: string;
  password: string;
}

export type FakeScenario =
  | { kind: "waf" }
  | { kind: "rate-limited"; hours?: number; shape?: "v2" | "v1" | "http429" }
  | { kind: "token-revoked" }
  | { kind: "empty-stream" }
  | { kind: "no-answer" }
  /** The model answers exactly this text (for clients that post-process answers). */
  | { kind: "answer"; text: string }
  | { kind: "drop-mid-answer"; afterDeltas?: number }
  | { kind: "slow-chunks"; delayMs: number }
  | { kind: "json-completion"; shape?: "choices" | "data-content" }
  | { kind: "moderation"; where?: "input" | "output" }
  | { kind: "quota" }
  | { kind: "internal-error" }
  | { kind: "http-error"; status: number; body?: string; contentType?: string }
  /**
   * A media reply that does not carry its media (§4.5: some accounts got empty video answers;
   * the sources then read the chat detail). Only `t2v` and `t2i` completions take it; other
   * chat types answer as usual and leave it in place. `t2v`: the `stream:false` JSON is
   * `{success:true,data:{message_id,parent_id,model,messages:[{role,content:"",extra:{}}]}}`,
   * with no `extra.wanx`. `t2i`: the stream is `response.created` and an `image_gen`
   * `finished` event, with no URL. `detail: "media"` (default): the chat detail's assistant
   * message still has it: `extra.wanx.task_id` of a task that is polled as usual, or the image
   * URL as its `content` and in an `image_gen` `content_list` item. `detail: "none"`: the
   * detail has nothing either (no task exists).
   */
  | { kind: "media-without-id"; detail?: "media" | "none" };

export interface ScenarioOptions {
  /** How many matching requests the scenario applies to; unlimited until cleared when absent. */
  times?: number;
  /** Only requests made with a token of this account match. */
  accountId?: string;
  /** Which upstream route the scenario applies to (default "completions"). */
  route?: "completions" | "new-chat" | "models" | "tasks" | "any";
}

export interface RequestLogEntry {
  time: number;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased header names, values as received. */
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, else the body as a string, else undefined. */
  body: unknown;
  /** Resolved from the token; null when there is none or it is invalid. */
  accountId: string | null;
}

export interface FakeQwen {
  readonly url: string;
  readonly requests: RequestLogEntry[];
  clearRequests(): void;
  addAccount(input?: { email?: string; password?: string; name?: string }): FakeAccount & { token: string };
  issueToken(accountId: string, options?: { expiresInSeconds?: number }): string;
  revokeToken(token: string): void;
  setScenario(scenario: FakeScenario, options?: ScenarioOptions): void;
  clearScenario(): void;
  chatsOf(accountId: string): Array<{ id: string; title: string; messageCount: number }>;
  /**
   * Raises the anti-bot wall: `/api/v2/*` except the model list answers the 200 HTML WAF
   * challenge unless the request carries a fresh `acw_sc__v3` cookie, which only the inline
   * script of the fake's own pages sets (so only a real browser gets one).
   */
  setBotWall(enabled: boolean): void;
  /** While on, every HTML page is the slider-captcha interstitial (title contains "Verification"). */
  setVerification(enabled: boolean): void;
  /** Expires every clearance cookie handed out so far; the next page load mints a valid one. */
  invalidateClearance(): void;
  /**
   * `oss` (default): upload credentials' `file_url` is a presigned URL on the bucket, which
   * also takes the signed PUT. `cdn`: `file_url` is on a read-only CDN path and `endpoint` is
   * the fake's own origin (`http://127.0.0.1:<port>`), the only place a PUT works (§3.4 step 3).
   */
  setUploadStyle(style: "oss" | "cdn"): void;
  /**
   * Which task poll route exists (§1.2): `v1` (default) serves `GET /api/v1/tasks/status/:id`,
   * `v2` serves `GET /api/v2/tasks/status/:id` (same flat body). The other one is absent: an
   * HTTP 404 `{"detail":"Not Found"}`, as for any unknown route, with or without a token.
   */
  setTaskStatusRoute(version: "v1" | "v2"): void;
  /**
   * Where `GET /api/v2/chats/:id` keeps the history (§1.2). `array` (default, since 2026-08):
   * `data.chat.messages` holds it and `data.chat.history.messages` is `{}`. `map` (before):
   * `data.chat.history.messages` maps message id → message, oldest first, and
   * `data.chat.messages` is `[]`.
   */
  setChatDetailShape(shape: "array" | "map"): void;
  /** HTML pages served so far; unlike `requests`, not reset by `clearRequests()`. */
  readonly pageLoads: number;
  close(): Promise<void>;
}
