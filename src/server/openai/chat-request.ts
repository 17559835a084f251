import { z } from "zod";
import type { AnswerFormat } from "../../conversation/json-answer.js";
import type { OutputLimits } from "../../conversation/output-limits.js";
import type { TurnMessage } from "../../conversation/turn-message.js";
import type { MessageRole } from "../../store/chat-store.js";
import { RequestError } from "../http-errors.js";

/** Loose in: unknown fields are ignored, as OpenAI clients send many this proxy cannot use. */
const ContentPart = z.looseObject({ type: z.string() });
const Message = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
  name: z.string().nullish(),
});

export const ChatCompletionRequest = z.looseObject({
  model: z.string().min(1).optional(),
  messages: z.array(Message).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  reasoning_effort: z.string().nullish(),
  enable_thinking: z.boolean().nullish(),
  enable_search: z.boolean().nullish(),
  chat_id: z.string().nullish(),
  chatId: z.string().nullish(),
  size: z.string().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  // One answer per request: upstream writes one reply per message.
  response_format: z
    .discriminatedUnion("type", [
      z.looseObject({ type: z.literal("text") }),
      z.looseObject({ type: z.literal("json_object") }),
      z.looseObject({
        type: z.literal("json_schema"),
        json_schema: z.looseObject({
          name: z.string().optional(),
          description: z.string().optional(),
          schema: z.unknown().optional(),
          strict: z.boolean().nullish(),
        }),
      }),
    ])
    .nullish(),
  n: z.literal(1, { error: "Only n=1 is supported: upstream writes one answer per request" }).nullish(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

/** Parses the body, or a 400 that names the field. */
export function parseChatRequest(body: unknown): ChatCompletionRequest {
  const parsed = ChatCompletionRequest.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue?.path.map(String).join(".") || null;
  const message = param
    ? `Invalid value for '${param}': ${issue?.message}`
    : (issue?.message ?? "Invalid body");
  throw new RequestError(message, { param });
}

const ROLES: Record<string, MessageRole> = {
  system: "system",
  developer: "system",
  user: "user",
  assistant: "assistant",
  // Tool results are read by the model as user-side text until tools are supported natively.
  tool: "user",
  function: "user",
};

/** OpenAI messages as turn messages; the last one must be the user's new message. */
export function toTurnMessages(request: ChatCompletionRequest): {
  history: TurnMessage[];
  message: TurnMessage;
  /** Where each attachment of the new message sits in the request, for errors. */
  attachmentParams: string[];
} {
  const converted = request.messages.map((message, index) => convertMessage(message, index));
  const last = converted.at(-1)!;
  const lastIndex = converted.length - 1;
  if (last.message.role !== "user") {
    throw new RequestError("The last message must come from the user", {
      param: `messages.${lastIndex}.role`,
    });
  }
  if (!last.hasContent) {
    throw new RequestError("The last user message is empty", { param: `messages.${lastIndex}.content` });
  }
  return {
    history: converted.slice(0, -1).map((item) => item.message),
    message: last.message,
    attachmentParams: last.params,
  };
}

function convertMessage(
  message: z.infer<typeof Message>,
  index: number,
): { message: TurnMessage; params: string[]; hasContent: boolean } {
  const role = ROLES[message.role];
  if (!role) {
    throw new RequestError(`Unknown role '${message.role}'`, { param: `messages.${index}.role` });
  }
  const toolResult = message.role === "tool" || message.role === "function";
  // A speaker's name matters to the model in group conversations (agents, several users).
  const speaker = message.name?.trim();
  const prefix = toolResult
    ? `[Tool result${speaker ? `: ${speaker}` : ""}]\n`
    : speaker
      ? `${speaker}: `
      : "";
  const content = message.content;
  if (content === undefined || content === null)
    return { message: { role, text: prefix, attachments: [] }, params: [], hasContent: false };
  if (typeof content === "string") {
    const hasContent = content.trim() !== "";
    return { message: { role, text: prefix + content, attachments: [] }, params: [], hasContent };
  }
  const texts: string[] = [];
  const attachments: string[] = [];
  const params: string[] = [];
  content.forEach((part, partIndex) => {
    const param = `messages.${index}.content.${partIndex}`;
    if (part.type === "text" || part.type === "input_text") {
      if (typeof part.text !== "string")
        throw new RequestError("A text part needs a 'text' string", { param });
      texts.push(part.text);
      return;
    }
    // An SDK hands an earlier answer back as it received it, refusal included.
    if (part.type === "refusal" && typeof part.refusal === "string") {
      texts.push(part.refusal);
      return;
    }
    if (part.type === "image_url") {
      attachments.push(readImageUrl(part.image_url, `${param}.image_url`));
      params.push(`${param}.image_url`);
      return;
    }
    if (part.type === "file") {
      attachments.push(readFilePart(part.file, `${param}.file`));
      params.push(`${param}.file`);
      return;
    }
    throw new RequestError(`Content parts of type '${part.type}' are not supported`, {
      param: `${param}.type`,
    });
  });
  const text = texts.join("\n");
  const hasContent = text.trim() !== "" || attachments.length > 0;
  return { message: { role, text: prefix + text, attachments }, params, hasContent };
}

function readImageUrl(value: unknown, param: string): string {
  const url = typeof value === "string" ? value : (value as { url?: unknown } | null)?.url;
  if (typeof url !== "string" || url === "") throw new RequestError("image_url needs a 'url'", { param });
  if (!/^(https?:\/\/|data:)/i.test(url)) {
    throw new RequestError("image_url must be an http(s) URL or a data: URI", {
      param,
      code: "unsupported_image",
    });
  }
  return url;
}

/** OpenAI's file part: `{file_id}` (from POST /api/files/upload) or `{file_data}` (a data: URI). */
function readFilePart(value: unknown, param: string): string {
  const file = (value ?? {}) as { file_id?: unknown; file_data?: unknown };
  if (typeof file.file_id === "string" && file.file_id !== "") return `file:${file.file_id}`;
  if (typeof file.file_data === "string" && file.file_data.startsWith("data:")) return file.file_data;
  throw new RequestError("A file part needs 'file_id' or 'file_data' (a data: URI)", { param });
}

/** The client's cuts: `stop` (a string or up to four) and the token cap, newest name first. */
export function outputLimits(request: ChatCompletionRequest): OutputLimits {
  const stop = typeof request.stop === "string" ? [request.stop] : (request.stop ?? undefined);
  return {
    stop: stop?.filter((item) => item !== ""),
    maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
  };
}

/** What `response_format` asks of the answer; undefined for plain text. */
export function answerFormat(request: ChatCompletionRequest): AnswerFormat | undefined {
  const format = request.response_format;
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  const { name, description, schema } = format.json_schema;
  return { type: "json_schema", name, description, schema };
}

/** Qwen's thinking switch from the request, or undefined to follow the model name. */
export function thinkingSwitch(request: ChatCompletionRequest): boolean | undefined {
  if (typeof request.enable_thinking === "boolean") return request.enable_thinking;
  const effort = request.reasoning_effort?.toLowerCase();
  if (!effort) return undefined;
  return !(effort === "none" || effort === "minimal");
}
