/**
 * The one internal event stream. Upstream is parsed once into these events; every surface
 * (native, OpenAI, Anthropic) renders them in its own wire format.
 */

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  reasoningTokens?: number;
  cachedTokens?: number;
  /** True when upstream sent no usage and the numbers were estimated from text length. */
  estimated?: boolean;
}

export interface SearchResult {
  url: string;
  title: string;
  snippet?: string;
  hostname?: string;
  date?: string;
}

export type FinishReason = "stop" | "length" | "content_filter";

export type QwenEvent =
  /** The first upstream event: ids needed to continue the thread next turn. */
  | { type: "response-created"; responseId: string; chatId?: string; parentId?: string | null }
  | { type: "text-delta"; text: string }
  | { type: "reasoning-delta"; text: string }
  /** Only results not emitted before (upstream repeats the cumulative list). */
  | { type: "search-results"; results: SearchResult[] }
  | { type: "image"; url: string; width?: number; height?: number }
  | { type: "video-task"; taskId: string }
  /** Cumulative usage so far; the last one seen is the total. */
  | { type: "usage"; usage: TokenUsage }
  /** `truncated`: the proxy ended the reply at the client's limit, before upstream did. */
  | { type: "finish"; reason: FinishReason; responseId?: string; truncated?: boolean };

export type QwenEventType = QwenEvent["type"];
