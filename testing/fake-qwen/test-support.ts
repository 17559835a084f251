import type { FakeQwen } from "./index.js";

// Shared helpers for the fake's own tests: plain fetch over real HTTP, like a client would.

export const spaVersion = "0.2.83";

export function spaHeaders(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    "content-type": "application/json",
    version: spaVersion,
    source: "web",
    ...extra,
  };
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; contentType: string; json: Record<string, unknown> }> {
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    json: (await response.json()) as Record<string, unknown>,
  };
}

export async function createChat(fake: FakeQwen, token: string, model = "qwen3.7-plus"): Promise<string> {
  const { json } = await postJson(
    `${fake.url}/api/v2/chats/new`,
    {
      title: "New Chat",
      models: [model],
      chat_mode: "normal",
      chat_type: "t2t",
      timestamp: Date.now(),
      project_id: "",
    },
    spaHeaders(token),
  );
  const data = json.data as { id?: string };
  if (!data.id) throw new Error(`chats/new gave no id: ${JSON.stringify(json)}`);
  return data.id;
}

export interface CompletionOptions {
  text?: string;
  content?: unknown;
  parentId?: string | null;
  model?: string;
  chatType?: string;
  stream?: boolean;
  featureConfig?: Record<string, unknown>;
  files?: unknown[];
  messages?: unknown[];
  size?: string;
}

export function completionBody(chatId: string, options: CompletionOptions = {}): Record<string, unknown> {
  const model = options.model ?? "qwen3.7-plus";
  const chatType = options.chatType ?? "t2t";
  const parentId = options.parentId ?? null;
  const message = {
    fid: crypto.randomUUID(),
    parentId,
    parent_id: parentId,
    childrenIds: [],
    role: "user",
    content: options.content ?? options.text ?? "Hello",
    user_action: "chat",
    files: options.files ?? [],
    timestamp: Math.floor(Date.now() / 1000),
    models: [model],
    chat_type: chatType,
    sub_chat_type: chatType,
    feature_config: options.featureConfig ?? { thinking_enabled: false, output_schema: "phase" },
    extra: { meta: { subChatType: chatType } },
  };
  return {
    stream: options.stream ?? chatType !== "t2v",
    version: "2.1",
    incremental_output: true,
    chat_id: chatId,
    chat_mode: "normal",
    model,
    parent_id: parentId,
    timestamp: Math.floor(Date.now() / 1000),
    size: options.size,
    messages: options.messages ?? [message],
  };
}

export function postCompletion(
  fake: FakeQwen,
  token: string,
  chatId: string,
  body: unknown,
  headers: Record<string, string> = spaHeaders(token),
): Promise<Response> {
  return fetch(`${fake.url}/api/v2/chat/completions?chat_id=${chatId}`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
}

export interface SseCapture {
  chunks: Uint8Array[];
  raw: string;
  /** Every `data:` payload, parsed. */
  events: Array<Record<string, unknown>>;
  /** Set when the connection broke before a clean end. */
  error: unknown;
}

export async function readSse(
  response: Response,
  stopAfterEvents = Number.POSITIVE_INFINITY,
): Promise<SseCapture> {
  const chunks: Uint8Array[] = [];
  let error: unknown = null;
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      if (Number.isFinite(stopAfterEvents) && countEvents(chunks) >= stopAfterEvents) {
        await reader.cancel();
        break;
      }
    }
  } catch (caught) {
    error = caught;
  }
  const raw = Buffer.concat(chunks).toString("utf8");
  const events = raw
    .split("\n\n")
    .map((block) => block.trim())
    .filter((block) => block.startsWith("data:"))
    .map((block) => JSON.parse(block.slice("data:".length)) as Record<string, unknown>);
  return { chunks, raw, events, error };
}

function countEvents(chunks: Uint8Array[]): number {
  return Buffer.concat(chunks).toString("utf8").split("\n\n").length - 1;
}

export interface Delta {
  role?: string;
  content?: string;
  phase?: string;
  status?: string;
  extra?: Record<string, unknown>;
}

export function deltaOf(event: Record<string, unknown>): Delta | undefined {
  const choices = event.choices as Array<{ delta: Delta }> | undefined;
  return choices?.[0]?.delta;
}

export function answerOf(events: Array<Record<string, unknown>>): string {
  return events
    .map(deltaOf)
    .filter((delta): delta is Delta => delta !== undefined && (delta.phase ?? "answer") === "answer")
    .map((delta) => delta.content ?? "")
    .join("");
}

export function responseIdOf(capture: SseCapture): string {
  const created = capture.events[0]?.["response.created"] as { response_id: string } | undefined;
  if (!created) throw new Error(`no response.created in ${capture.raw.slice(0, 200)}`);
  return created.response_id;
}

/** Sends one turn and returns its reply text and response id. */
export async function completeTurn(
  fake: FakeQwen,
  token: string,
  chatId: string,
  options: CompletionOptions = {},
): Promise<{ capture: SseCapture; answer: string; responseId: string }> {
  const response = await postCompletion(fake, token, chatId, completionBody(chatId, options));
  const capture = await readSse(response);
  return { capture, answer: answerOf(capture.events), responseId: responseIdOf(capture) };
}
