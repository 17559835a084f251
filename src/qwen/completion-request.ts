import { randomUUID } from "node:crypto";
import {
  type QwenAspectRatio,
  type QwenChatType,
  type QwenContentPart,
  type QwenFileAttachment,
  streamsFor,
} from "./chat-types.js";

export interface CompletionInput {
  chatId: string;
  model: string;
  /** The ONE message upstream accepts per request. */
  content: string | QwenContentPart[];
  /** The previous turn's response_id to continue the thread; null for a first turn. */
  parentId?: string | null;
  chatType?: QwenChatType;
  thinking?: boolean;
  /** Web search inside a normal chat. */
  search?: boolean;
  thinkingBudget?: number;
  files?: QwenFileAttachment[];
  size?: QwenAspectRatio;
}

/** Body of `POST /api/v2/chat/completions?chat_id=` (§3.2, §3.3). */
export function buildCompletionBody(
  input: CompletionInput,
  nowMs: number = Date.now(),
): Record<string, unknown> {
  const chatType = input.chatType ?? (input.search ? "search" : "t2t");
  const parentId = input.parentId ?? null;
  const seconds = Math.floor(nowMs / 1000);
  const thinking = input.thinking === true;
  const featureConfig: Record<string, unknown> = {
    thinking_enabled: thinking,
    // Without output_schema upstream sends no phase and answers cannot be told from reasoning.
    output_schema: "phase",
    research_mode: "normal",
    auto_thinking: false,
    thinking_mode: thinking ? "Thinking" : "Disabled",
    thinking_format: "summary",
    auto_search: input.search === true || chatType === "search",
    // Native tools stay off: upstream intercepts them and answers "Tool X does not exists."
    code_interpreter: false,
    plugins_enabled: false,
    function_calling: false,
  };
  if (thinking && input.thinkingBudget !== undefined) featureConfig.thinking_budget = input.thinkingBudget;

  const meta: Record<string, unknown> = { subChatType: chatType };
  if (input.size) meta.size = input.size;

  const message: Record<string, unknown> = {
    fid: randomUUID(),
    parentId,
    parent_id: parentId,
    childrenIds: [randomUUID()],
    role: "user",
    content: input.content,
    user_action: "chat",
    files: input.files ?? [],
    timestamp: seconds,
    models: [input.model],
    chat_type: chatType,
    sub_chat_type: chatType,
    feature_config: featureConfig,
    extra: { meta },
  };
  if (input.size) message.size = input.size;

  const body: Record<string, unknown> = {
    stream: streamsFor(chatType),
    version: "2.1",
    incremental_output: true,
    chat_id: input.chatId,
    chat_mode: "normal",
    model: input.model,
    parent_id: parentId,
    messages: [message],
    timestamp: seconds,
  };
  if (input.size) body.size = input.size;
  return body;
}
