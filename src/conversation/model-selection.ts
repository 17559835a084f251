import type { QwenChatType } from "../qwen/chat-types.js";
import type { QwenModel } from "../qwen/models.js";

/** What a requested model name comes down to upstream. */
export interface ModelSelection {
  /** The name the client asked for, echoed back in responses. */
  requested: string;
  model: QwenModel;
  thinking: boolean;
  search: boolean;
  chatType: QwenChatType;
}

export interface ModelSwitches {
  /** Explicit thinking switch (`enable_thinking`, `reasoning_effort`); wins over the name. */
  thinking?: boolean;
  search?: boolean;
}

/** Name suffixes users put on a model, longest first so `-thinking-search` wins over `-search`. */
const SUFFIXES: ReadonlyArray<[string, Partial<Pick<ModelSelection, "thinking" | "search" | "chatType">>]> = [
  ["-thinking-search", { thinking: true, search: true }],
  ["-fast-search", { thinking: false, search: true }],
  ["-image-edit", { chatType: "image_edit" }],
  ["-deep-research", { chatType: "deep_research" }],
  ["-thinking", { thinking: true }],
  ["-search", { search: true }],
  ["-fast", { thinking: false }],
  ["-image", { chatType: "t2i" }],
  ["-video", { chatType: "t2v" }],
];

/**
 * Old names users know, mapped to current upstream models in order of preference: the first
 * one the live catalogue has is used, so the aliases survive upstream's renames.
 */
const ALIASES: ReadonlyArray<[string[], string[]]> = [
  [
    ["qwen-max", "qwen-max-latest", "qwen3-max", "qwen3-max-preview", "qwen2.5-max", "qwen", "qwen3"],
    ["qwen3.8-max", "qwen3.7-max", "qwen3-max", "qwen-max-latest"],
  ],
  [
    ["qwen-plus", "qwen-plus-latest", "qwen3-plus"],
    ["qwen3.7-plus", "qwen3.6-plus", "qwen3.5-plus", "qwen-plus-2025-09-11"],
  ],
  [
    ["qwen-turbo", "qwen-turbo-latest", "qwen-flash", "qwen3-flash"],
    ["qwen3.5-flash", "qwen3.6-plus", "qwen3.7-plus", "qwen-turbo-2025-02-11"],
  ],
  [
    ["qwen-coder", "qwen-coder-plus", "qwen3-coder", "qwen3-coder-plus", "qwen-coder-plus-latest"],
    ["qwen3-coder", "qwen3-coder-plus"],
  ],
  [
    ["qwen-vl-max", "qwen-vl-plus", "qwen3-vl", "qwen3-vl-plus"],
    ["qwen3-vl-plus", "qwen3.7-plus"],
  ],
  [
    ["qwq", "qwq-32b", "qwq-plus"],
    ["qwq-32b", "qwen3.7-plus"],
  ],
];

/** Every alias name, for listing and lookups. */
export const ALIAS_NAMES: readonly string[] = ALIASES.flatMap(([names]) => names);

/**
 * Resolves a requested name against the live catalogue: exact id or display name first,
 * then a suffix variant, then an alias. Undefined when nothing matches.
 */
export function selectModel(
  requested: string,
  models: readonly QwenModel[],
  switches: ModelSwitches = {},
): ModelSelection | undefined {
  const name = requested.trim().toLowerCase();
  const base = findModel(name, models);
  let selection: ModelSelection | undefined;
  if (base) selection = fromModel(requested, base, {});
  if (!selection) {
    for (const [suffix, flags] of SUFFIXES) {
      if (!name.endsWith(suffix)) continue;
      const model = findModel(name.slice(0, -suffix.length), models);
      if (model) {
        selection = fromModel(requested, model, flags);
        break;
      }
    }
  }
  if (!selection) return undefined;
  if (switches.thinking !== undefined) selection.thinking = switches.thinking;
  if (switches.search !== undefined) selection.search = switches.search || selection.search;
  // Some models refuse to answer at all without thinking.
  if (selection.model.thinkingRequired) selection.thinking = true;
  if (!selection.model.capabilities.thinking && !selection.model.thinkingRequired) selection.thinking = false;
  return selection;
}

function fromModel(
  requested: string,
  model: QwenModel,
  flags: Partial<Pick<ModelSelection, "thinking" | "search" | "chatType">>,
): ModelSelection {
  return {
    requested,
    model,
    thinking: flags.thinking ?? false,
    search: flags.search ?? false,
    chatType: flags.chatType ?? "t2t",
  };
}

function findModel(name: string, models: readonly QwenModel[]): QwenModel | undefined {
  const direct = models.find((model) => model.id.toLowerCase() === name || model.name.toLowerCase() === name);
  if (direct) return direct;
  const alias = ALIASES.find(([names]) => names.includes(name));
  if (!alias) return undefined;
  for (const target of alias[1]) {
    const model = models.find((candidate) => candidate.id.toLowerCase() === target && candidate.active);
    if (model) return model;
  }
  return undefined;
}

/** The public names of one upstream model: itself and the variants its capabilities allow. */
export function variantNames(model: QwenModel): string[] {
  const names = [model.id];
  const { capabilities } = model;
  if (capabilities.thinking && !model.thinkingRequired) names.push(`${model.id}-thinking`);
  if (capabilities.search) {
    names.push(`${model.id}-search`);
    if (capabilities.thinking && !model.thinkingRequired) names.push(`${model.id}-thinking-search`);
  }
  if (capabilities.imageGeneration) names.push(`${model.id}-image`);
  if (capabilities.imageEdit) names.push(`${model.id}-image-edit`);
  if (capabilities.videoGeneration) names.push(`${model.id}-video`);
  return names;
}
