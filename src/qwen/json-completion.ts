import { QwenError } from "../errors.js";
import type { QwenEvent } from "../events.js";
import { classifyBusinessError } from "./classify-error.js";
import { asRecord, asString, isRecord } from "./json-shape.js";
import { readUsage } from "./read-usage.js";

/**
 * Upstream sometimes answers a streamed request with one JSON document instead of SSE
 * (protocol notes §4.6): a completion in one of several shapes, a video task, or an error.
 * Returns the same events the stream would have produced, or throws.
 */
export function eventsFromJsonBody(body: unknown): QwenEvent[] {
  const error = classifyBusinessError(body);
  if (error) throw error;
  if (!isRecord(body)) {
    throw new QwenError("invalid_response", "Upstream answered with JSON that is not an object");
  }
  const data = asRecord(body.data);
  const events: QwenEvent[] = [];
  const responseId = asString(body.response_id) ?? asString(body.id) ?? asString(data?.message_id);
  if (responseId) events.push({ type: "response-created", responseId, parentId: null });

  const taskId = readVideoTaskId(data);
  if (taskId) {
    events.push({ type: "video-task", taskId });
    return events;
  }

  const content = readCompletionContent(body, data);
  if (content === undefined) {
    throw new QwenError("invalid_response", "Upstream answered with JSON this client cannot read", {
      details: JSON.stringify(body).slice(0, 300),
    });
  }
  if (content.text.trim() === "" && content.images.length === 0) {
    throw new QwenError("empty_response", "Upstream finished with no answer");
  }
  if (content.text !== "") events.push({ type: "text-delta", text: content.text });
  for (const url of new Set(content.images)) events.push({ type: "image", url });
  const usage = readUsage(body.usage) ?? readUsage(data?.usage);
  if (usage) events.push({ type: "usage", usage });
  events.push({ type: "finish", reason: "stop", ...(responseId ? { responseId } : {}) });
  return events;
}

interface JsonContent {
  text: string;
  images: string[];
}

/**
 * The answer in any of the shapes seen: `choices[0].message.content` at the top or under
 * `data` (the old image edit put `[{image: url}]` there), `data.content`, or
 * `data.message.content`; content as a string or as parts.
 */
function readCompletionContent(
  body: Record<string, unknown>,
  data: Record<string, unknown> | undefined,
): JsonContent | undefined {
  const choices = Array.isArray(body.choices)
    ? body.choices
    : Array.isArray(data?.choices)
      ? data.choices
      : undefined;
  const choice = asRecord(choices?.[0]);
  if (choice) {
    return contentOf(asRecord(choice.message)?.content) ?? contentOf(asRecord(choice.delta)?.content);
  }
  if (!data) return undefined;
  return contentOf(data.content) ?? contentOf(asRecord(data.message)?.content);
}

/** A string, or parts: text parts joined, image parts (`image`, `image_url`, `url`) collected. */
function contentOf(content: unknown): JsonContent | undefined {
  if (typeof content === "string") return { text: content, images: [] };
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  const images: string[] = [];
  for (const part of content) {
    if (typeof part === "string") {
      texts.push(part);
      continue;
    }
    const record = asRecord(part);
    const text = asString(record?.text);
    if (text !== undefined) texts.push(text);
    const image =
      asString(record?.image) ?? asString(asRecord(record?.image_url)?.url) ?? asString(record?.image_url);
    const url = image ?? (record?.type === "image" ? asString(record?.url) : undefined);
    if (url) images.push(url);
  }
  if (texts.length === 0 && images.length === 0) return undefined;
  return { text: texts.join(""), images };
}

/** `data.messages[0].extra.wanx.task_id` (video) or `extra.aipodcast.task_id`. */
function readVideoTaskId(data: Record<string, unknown> | undefined): string | undefined {
  const messages = Array.isArray(data?.messages) ? data.messages : [];
  for (const message of messages) {
    const extra = asRecord(asRecord(message)?.extra);
    const taskId = asString(asRecord(extra?.wanx)?.task_id) ?? asString(asRecord(extra?.aipodcast)?.task_id);
    if (taskId) return taskId;
  }
  return undefined;
}
