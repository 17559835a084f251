import type { TokenUsage } from "../events.js";
import { asRecord, isRecord } from "./json-shape.js";

/**
 * Upstream usage is cumulative and uses its own names (input_tokens, output_tokens); a few
 * answers use OpenAI's names instead. Both are read.
 */
export function readUsage(value: unknown): TokenUsage | undefined {
  if (!isRecord(value)) return undefined;
  const input = firstNumber(value.input_tokens, value.prompt_tokens);
  const output = firstNumber(value.output_tokens, value.completion_tokens);
  if (input === undefined && output === undefined) return undefined;
  const inputTokens = input ?? 0;
  const outputTokens = output ?? 0;
  const usage: TokenUsage = {
    inputTokens,
    outputTokens,
    totalTokens: firstNumber(value.total_tokens) ?? inputTokens + outputTokens,
  };
  const outputDetails = asRecord(value.output_tokens_details) ?? asRecord(value.completion_tokens_details);
  const reasoning = firstNumber(outputDetails?.reasoning_tokens);
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  const inputDetails = asRecord(value.prompt_tokens_details) ?? asRecord(value.input_tokens_details);
  const cached = firstNumber(inputDetails?.cached_tokens);
  if (cached !== undefined) usage.cachedTokens = cached;
  return usage;
}

/** Cheap identity of a usage value, to skip repeats. */
export function usageKey(usage: TokenUsage): string {
  return `${usage.inputTokens}/${usage.outputTokens}/${usage.totalTokens}/${usage.reasoningTokens ?? ""}`;
}

function firstNumber(...values: unknown[]): number | undefined {
  for (const value of values) {
    if (typeof value === "number" && Number.isFinite(value)) return value;
  }
  return undefined;
}
