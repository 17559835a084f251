import { z } from "zod";
import type { TurnMessage } from "../../conversation/turn-message.js";
import { RequestError } from "../http-errors.js";

/**
 * `POST /api/chat` takes two formats (the original's README documents both):
 * `{message, model, chatId}` where message is a string or parts, and
 * `{messages, model, chatId}` where only the last user message is the new turn.
 */
const Part = z.looseObject({ type: z.string() });
const MessageContent = z.union([z.string(), z.array(Part)]);
const NativeChatRequest = z.looseObject({
  message: MessageContent.optional(),
  messages: z.array(z.looseObject({ role: z.string(), content: MessageContent.nullish() })).optional(),
  model: z.string().min(1).optional(),
  chatId: z.string().nullish(),
  stream: z.boolean().nullish(),
  enable_thinking: z.boolean().nullish(),
  enable_search: z.boolean().nullish(),
  size: z.string().nullish(),
});
export type NativeChatRequest = z.infer<typeof NativeChatRequest>;

export interface NativeTurnInput {
  request: NativeChatRequest;
  message: TurnMessage;
  /** Where each attachment sits in the request, for errors. */
  attachmentParams: string[];
  /** System messages sent along in `messages`, honoured when the chat is new. */
  system: string[];
}

export function parseNativeChatRequest(body: unknown): NativeTurnInput {
  const parsed = NativeChatRequest.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue?.path.map(String).join(".") || null;
    throw new RequestError(param ? `Invalid value for '${param}': ${issue?.message}` : "Invalid body", {
      param,
    });
  }
  const request = parsed.data;
  if (request.message !== undefined) {
    const { message, params } = toTurnMessage(request.message, "message");
    return { request, message, attachmentParams: params, system: [] };
  }
  if (!request.messages || request.messages.length === 0) {
    throw new RequestError("Send 'message' (a string or parts) or 'messages'", { param: "message" });
  }
  const index = request.messages.findLastIndex((item) => item.role === "user");
  const last = request.messages[index];
  if (!last?.content) throw new RequestError("'messages' has no user message", { param: "messages" });
  const system = request.messages
    .filter(
      (item) => item.role === "system" && typeof item.content === "string" && item.content.trim() !== "",
    )
    .map((item) => item.content as string);
  const { message, params } = toTurnMessage(last.content, `messages.${index}.content`);
  return { request, message, attachmentParams: params, system };
}

function toTurnMessage(
  content: z.infer<typeof MessageContent>,
  param: string,
): { message: TurnMessage; params: string[] } {
  if (typeof content === "string") {
    if (content.trim() === "") throw new RequestError("The message is empty", { param });
    return { message: { role: "user", text: content, attachments: [] }, params: [] };
  }
  const texts: string[] = [];
  const attachments: string[] = [];
  const params: string[] = [];
  content.forEach((part, index) => {
    const partParam = `${param}.${index}`;
    if (part.type === "text") {
      if (typeof part.text !== "string")
        throw new RequestError("A text part needs 'text'", { param: partParam });
      texts.push(part.text);
      return;
    }
    attachments.push(readAttachment(part, partParam));
    params.push(partParam);
  });
  const text = texts.join("\n");
  if (text.trim() === "" && attachments.length === 0)
    throw new RequestError("The message is empty", { param });
  return { message: { role: "user", text, attachments }, params };
}

/**
 * `{type:"image", image: URL | data: URI}` (the original's form), `{type:"image_url"}` (OpenAI's),
 * `{type:"file", file_id}` from the upload endpoint, or `{type:"file", file: URL}`.
 */
function readAttachment(part: z.infer<typeof Part>, param: string): string {
  if (part.type === "file" && typeof part.file_id === "string" && part.file_id !== "")
    return `file:${part.file_id}`;
  if (part.type === "image" || part.type === "image_url" || part.type === "file") {
    const raw = part.type === "image" ? part.image : part.type === "file" ? part.file : part.image_url;
    const url = typeof raw === "string" ? raw : (raw as { url?: unknown } | null)?.url;
    if (typeof url === "string" && /^(https?:\/\/|data:)/i.test(url)) return url;
    throw new RequestError(`A ${part.type} part needs an http(s) URL, a data: URI or a file_id`, {
      param,
      code: "unsupported_image",
    });
  }
  throw new RequestError(`Parts of type '${part.type}' are not supported`, { param: `${param}.type` });
}
