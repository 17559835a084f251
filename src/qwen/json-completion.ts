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

  const text = readCompletionText(body, data);
  if (text === undefined) {
    throw new QwenError("invalid_response", "Upstream answered with JSON this client cannot read", {
      details: JSON.stringify(body).slice(0, 300),
    });
  }
  if (text.trim() === "") throw new QwenError("empty_response", "Upstream finished with no answer");
  events.push({ type: "text-delta", text });
  const usage = readUsage(body.usage) ?? readUsage(data?.usage);
  if (usage) events.push({ type: "usage", usage });
  events.push({ type: "finish", reason: "stop", ...(responseId ? { responseId } : {}) });
  return events;
}

function readCompletionText(body: Record<string, unknown>, data: Record<string, unknown> | undefined) {
  const choices = Array.isArray(body.choices) ? body.choices : undefined;
  const choice = asRecord(choices?.[0]);
  if (choice) {
    return contentText(asRecord(choice.message)?.content) ?? contentText(asRecord(choice.delta)?.content);
  }
  if (!data) return undefined;
  return contentText(data.content) ?? contentText(asRecord(data.message)?.content);
}

/** A string, or an array of parts whose text parts are joined. */
function contentText(content: unknown): string | undefined {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return undefined;
  const texts = content
    .map((part) => (typeof part === "string" ? part : asString(asRecord(part)?.text)))
    .filter((part): part is string => part !== undefined);
  return texts.length > 0 ? texts.join("") : undefined;
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
