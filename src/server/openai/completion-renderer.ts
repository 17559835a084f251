import { randomBytes } from "node:crypto";
import type { ReasoningFormat } from "../../config/config.js";
import { formatImage, formatSources } from "../../conversation/reply-format.js";
import type { FinishReason, QwenEvent, SearchResult, TokenUsage } from "../../events.js";

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  completion_tokens_details?: { reasoning_tokens: number };
  prompt_tokens_details?: { cached_tokens: number };
  /** Present (true) when upstream sent no usage and the numbers are estimates. */
  estimated?: boolean;
}

type Delta = { role?: "assistant"; content?: string; reasoning_content?: string; reasoning?: string };

export function completionId(): string {
  return `chatcmpl-${randomBytes(12).toString("hex")}`;
}

/**
 * Turns internal events into OpenAI chat-completion deltas, and collects the same into one
 * message for non-streaming answers. Reasoning goes where REASONING_FORMAT says.
 */
export class CompletionRenderer {
  readonly id = completionId();
  readonly created = Math.floor(Date.now() / 1000);
  readonly #model: string;
  readonly #format: ReasoningFormat;
  #content = "";
  #reasoning = "";
  #thinkOpen = false;
  #sources: SearchResult[] = [];
  #images = 0;
  #usage: TokenUsage | undefined;
  #finishReason: FinishReason = "stop";
  /** With `stream_options.include_usage`, every chunk but the usage one says `usage: null`. */
  includeUsage = false;
  /** Characters of the prompt as the client sent it, for an estimate when upstream sends no usage. */
  promptCharacters = 0;

  constructor(model: string, format: ReasoningFormat) {
    this.#model = model;
    this.#format = format;
  }

  /** The deltas one event becomes (none for events with nothing to show). */
  deltas(event: QwenEvent): Delta[] {
    switch (event.type) {
      case "reasoning-delta":
        return this.#reasoningDelta(event.text);
      case "text-delta":
        return this.#contentDeltas(event.text);
      case "image":
        return this.#contentDeltas(formatImage(event.url, this.#images++ === 0 && this.#content === ""));
      case "search-results":
        this.#sources.push(...event.results);
        return [];
      case "usage":
        this.#usage = event.usage;
        return [];
      case "finish": {
        this.#finishReason = event.reason;
        // A reply cut at the client's limit (stop, max_tokens) ends at the cut: no sources.
        if (event.truncated) this.#sources = [];
        const sources = formatSources(this.#sources);
        // Also closes a <think> block that no answer text closed.
        return sources !== "" || this.#thinkOpen ? this.#contentDeltas(sources) : [];
      }
      default:
        return [];
    }
  }

  chunk(delta: Delta, finishReason: FinishReason | null = null) {
    return {
      id: this.id,
      object: "chat.completion.chunk" as const,
      created: this.created,
      model: this.#model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(this.includeUsage ? { usage: null } : {}),
    };
  }

  /** The first chunk: the role, as the SDK's stream helper requires. */
  roleChunk() {
    return this.chunk({ role: "assistant", content: "" });
  }

  finalChunk() {
    return this.chunk({}, this.#finishReason);
  }

  usageChunk() {
    return {
      id: this.id,
      object: "chat.completion.chunk" as const,
      created: this.created,
      model: this.#model,
      choices: [],
      usage: this.usage(),
    };
  }

  /** The whole answer, for `stream: false`. */
  completion() {
    const message: Record<string, unknown> = { role: "assistant", content: this.#content, refusal: null };
    if (this.#reasoning !== "") {
      if (this.#format === "reasoning_content" || this.#format === "both")
        message.reasoning_content = this.#reasoning;
      if (this.#format === "reasoning" || this.#format === "both") message.reasoning = this.#reasoning;
    }
    return {
      id: this.id,
      object: "chat.completion" as const,
      created: this.created,
      model: this.#model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: this.#finishReason }],
      usage: this.usage(),
    };
  }

  usage(): OpenAiUsage {
    const usage = this.#usage;
    if (!usage) {
      // Upstream sent none: a rough estimate (about four characters a token), marked as such.
      const prompt = Math.ceil(this.promptCharacters / 4);
      const completion = Math.ceil((this.#content.length + this.#reasoning.length) / 4);
      return {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        estimated: true,
      };
    }
    const result: OpenAiUsage = {
      prompt_tokens: usage.inputTokens,
      completion_tokens: usage.outputTokens,
      total_tokens: usage.totalTokens,
    };
    if (usage.reasoningTokens !== undefined) {
      result.completion_tokens_details = { reasoning_tokens: usage.reasoningTokens };
    }
    if (usage.cachedTokens !== undefined)
      result.prompt_tokens_details = { cached_tokens: usage.cachedTokens };
    return result;
  }

  #reasoningDelta(text: string): Delta[] {
    this.#reasoning += text;
    switch (this.#format) {
      case "reasoning_content":
        return [{ reasoning_content: text }];
      case "reasoning":
        return [{ reasoning: text }];
      case "both":
        return [{ reasoning_content: text, reasoning: text }];
      case "think-tags": {
        const opening = this.#thinkOpen ? "" : "<think>\n";
        this.#thinkOpen = true;
        return this.#appendContent(opening + text);
      }
      default:
        return [];
    }
  }

  #contentDeltas(text: string): Delta[] {
    if (!this.#thinkOpen) return this.#appendContent(text);
    this.#thinkOpen = false;
    return this.#appendContent(`\n</think>\n\n${text}`);
  }

  #appendContent(text: string): Delta[] {
    if (text === "") return [];
    this.#content += text;
    return [{ content: text }];
  }
}
