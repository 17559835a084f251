import type { ChatRecord, FakeState, FileRecord } from "./fake-state.js";
import { type FakeModel, findModel } from "./models-catalogue.js";
import { isRecord } from "./request-context.js";

// Every rule the real completions endpoint is known to enforce (§3.2, §3.3, §4.6, §8).
// Each failure is reported to the caller as an HTTP 200 Bad_Request with these details.

export type ThinkingStyle = "summary" | "detail";

export interface ValidCompletion {
  chat: ChatRecord;
  model: FakeModel;
  chatType: string;
  parentResponseId: string | null;
  depth: number;
  text: string;
  imagePartCount: number;
  files: unknown[];
  phaseMode: boolean;
  thinking: ThinkingStyle | null;
  search: boolean;
  imageSize: { ratio: string; width: number; height: number };
}

export type CompletionValidation = { ok: true; value: ValidCompletion } | { ok: false; details: string };

const knownChatTypes = new Set([
  "t2t",
  "search",
  "t2i",
  "t2v",
  "image_edit",
  "deep_research",
  "artifacts",
  "web_dev",
  "slides",
  "learn",
  "travel",
  "i2v",
]);

const imageSizes: Record<string, { width: number; height: number }> = {
  "1:1": { width: 1328, height: 1328 },
  "16:9": { width: 1664, height: 928 },
  "9:16": { width: 928, height: 1664 },
  "4:3": { width: 1472, height: 1140 },
  "3:4": { width: 1140, height: 1472 },
};

interface ValidationInput {
  state: FakeState;
  accountId: string;
  queryChatId: string | undefined;
  body: Record<string, unknown>;
}

export function validateCompletion({
  state,
  accountId,
  queryChatId,
  body,
}: ValidationInput): CompletionValidation {
  const fail = (details: string): CompletionValidation => ({ ok: false, details });

  if (!queryChatId) return fail("Invalid input chat_id is required.");
  if (body.chat_id !== queryChatId)
    return fail("Invalid input chat_id in the body does not match the query.");
  const chat = state.ownedChat(queryChatId, accountId);
  if (!chat) return fail(`Invalid input the chat ${queryChatId} is not exist.`);

  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return fail("Invalid input messages is empty.");
  if (messages.length > 1) return fail("Invalid input too many messages");
  const message = messages[0];
  if (!isRecord(message)) return fail("Invalid input message must be an object.");
  if (message.role !== "user") return fail("Invalid input the message role must be user.");

  const model = findModel(body.model);
  if (!model) return fail(`Invalid input model ${String(body.model)} not found.`);
  if (!model.isActive) return fail(`Invalid input model ${model.id} is not active.`);

  const chatType = message.chat_type === undefined ? "t2t" : message.chat_type;
  if (typeof chatType !== "string" || !knownChatTypes.has(chatType)) {
    return fail(`Invalid input chat_type ${String(chatType)} is not supported.`);
  }
  if (!model.chatTypes.includes(chatType)) {
    return fail(`Invalid input model ${model.id} does not support chat_type ${chatType}.`);
  }
  if (chatType === "t2v" && body.stream !== false) return fail("Invalid input t2v requires stream=false.");
  if (chatType !== "t2v" && body.stream !== true)
    return fail(`Invalid input ${chatType} requires stream=true.`);

  const featureConfig = isRecord(message.feature_config) ? message.feature_config : {};
  if (model.requiresThinking && featureConfig.thinking_enabled !== true) {
    return fail(`Invalid input model ${model.id} requires thinking_enabled=true.`);
  }

  const parent = resolveParent(body, message);
  if (parent !== null && (typeof parent !== "string" || !chat.responseDepths.has(parent))) {
    return fail(`Invalid input the parent message ${String(parent)} is not exist.`);
  }
  const depth = parent === null ? 1 : (chat.responseDepths.get(parent) ?? 0) + 1;

  const content = readContent(message.content);
  if (!content) return fail("Invalid input message content must be a string or a list of parts.");

  const files = message.files === undefined ? [] : message.files;
  if (!Array.isArray(files)) return fail("Invalid input files must be a list.");
  let imageFileCount = 0;
  for (const entry of files) {
    const file = resolveAttachedFile(state, accountId, entry);
    if (typeof file === "string") return fail(file);
    if (file.filetype === "image" || (isRecord(entry) && entry.type === "image")) imageFileCount += 1;
  }
  if (!model.vision && (content.imagePartCount > 0 || imageFileCount > 0)) {
    return fail(`Invalid input model ${model.id} does not support image input.`);
  }

  const ratio = readSizeRatio(body, message);
  const size = imageSizes[ratio];
  if ((chatType === "t2i" || chatType === "t2v") && !size)
    return fail(`Invalid input size ${ratio} is not supported.`);

  const phaseMode = featureConfig.output_schema === "phase";
  const thinkingWanted = model.thinking && featureConfig.thinking_enabled === true;
  const format = featureConfig.thinking_format;
  const searchWanted =
    chatType === "search" ||
    (chatType === "t2t" && featureConfig.auto_search === true && model.chatTypes.includes("search"));
  return {
    ok: true,
    value: {
      chat,
      model,
      chatType,
      parentResponseId: parent,
      depth,
      text: content.text,
      imagePartCount: content.imagePartCount,
      files,
      phaseMode,
      // Without the phase schema upstream sends neither phases nor reasoning (S2 1198003).
      thinking:
        phaseMode && thinkingWanted && (chatType === "t2t" || chatType === "search")
          ? format === "detail" || format === "detailed"
            ? "detail"
            : "summary"
          : null,
      search: phaseMode ? searchWanted : false,
      imageSize: { ratio, ...(size ?? { width: 1328, height: 1328 }) },
    },
  };
}

function resolveParent(body: Record<string, unknown>, message: Record<string, unknown>): unknown {
  if (body.parent_id !== undefined) return body.parent_id;
  if (message.parent_id !== undefined) return message.parent_id;
  if (message.parentId !== undefined) return message.parentId;
  return null;
}

function readContent(content: unknown): { text: string; imagePartCount: number } | null {
  if (typeof content === "string") return { text: content, imagePartCount: 0 };
  if (!Array.isArray(content)) return null;
  const texts: string[] = [];
  let imagePartCount = 0;
  for (const part of content) {
    if (typeof part === "string") texts.push(part);
    else if (isRecord(part) && part.type === "text" && typeof part.text === "string") texts.push(part.text);
    else if (isRecord(part) && part.type === "image" && typeof part.image === "string") imagePartCount += 1;
    else if (!isRecord(part) || typeof part.type !== "string") return null;
  }
  return { text: texts.join("\n"), imagePartCount };
}

/** Returns the owned, uploaded file, or the Bad_Request details explaining why not. */
function resolveAttachedFile(state: FakeState, accountId: string, entry: unknown): FileRecord | string {
  if (!isRecord(entry)) return "Invalid input each file must be an object.";
  const nested = isRecord(entry.file) ? entry.file : {};
  const id = typeof entry.id === "string" ? entry.id : typeof nested.id === "string" ? nested.id : undefined;
  let file: FileRecord | undefined;
  if (id !== undefined) file = state.files.get(id);
  else if (typeof entry.url === "string") file = findFileByUrl(state, entry.url);
  else return "Invalid input each file needs an id or a url.";
  const label = id ?? String(entry.url);
  if (!file || file.accountId !== accountId) return `Invalid input the file ${label} is not exist.`;
  if (!file.object) return `Invalid input the file ${label} has not been uploaded.`;
  return file;
}

function findFileByUrl(state: FakeState, url: string): FileRecord | undefined {
  const marker = "/qwen-webui-prod/";
  const start = url.indexOf(marker);
  if (start === -1) return undefined;
  const path = url.slice(start + marker.length).split("?")[0] ?? "";
  try {
    return state.findFileByPath(decodeURIComponent(path));
  } catch {
    return undefined;
  }
}

function readSizeRatio(body: Record<string, unknown>, message: Record<string, unknown>): string {
  if (typeof body.size === "string") return body.size;
  if (typeof message.size === "string") return message.size;
  const extra = isRecord(message.extra) ? message.extra : {};
  const meta = isRecord(extra.meta) ? extra.meta : {};
  return typeof meta.size === "string" ? meta.size : "1:1";
}
