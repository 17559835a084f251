import type { QwenEvent } from "../events.js";

/** What a client asked the answer to be cut at: OpenAI's `stop` and `max_tokens`. */
export interface OutputLimits {
  /** Up to four strings; the answer ends before the first one that appears in its text. */
  stop?: string[];
  /** Output tokens (reasoning included, as OpenAI counts them) after which the answer ends. */
  maxTokens?: number;
}

export interface LimitState {
  /** Set when a limit ended the answer before upstream did. */
  cut?: "stop" | "length";
}

/** Whether the client set any limit at all (if not, the reply needs no filtering). */
export function hasOutputLimits(limits: OutputLimits | undefined): limits is OutputLimits {
  return (
    limits !== undefined &&
    (limits.maxTokens !== undefined || (limits.stop ?? []).some((stop) => stop !== ""))
  );
}

/** About four characters a token: only used when upstream sends no usage. */
const CHARACTERS_PER_TOKEN = 4;

/**
 * Applies the client's limits to a reply as it streams. Answer text is held back only as much
 * as the longest stop string needs (so a stop string split across deltas is still found), and
 * released before any other event. When a limit is reached the reply ends with a `finish`
 * event of its own and the source is closed, which aborts the upstream request.
 */
export async function* applyOutputLimits(
  events: AsyncIterable<QwenEvent>,
  limits: OutputLimits,
  state: LimitState,
): AsyncGenerator<QwenEvent> {
  const stops = (limits.stop ?? []).filter((stop) => stop !== "");
  const maxTokens = limits.maxTokens;
  if (stops.length === 0 && maxTokens === undefined) {
    yield* events;
    return;
  }
  const holdBack = Math.max(0, ...stops.map((stop) => stop.length - 1));
  let pending = "";
  let reportedTokens: number | undefined;
  let estimatedCharacters = 0;

  const overBudget = () =>
    maxTokens !== undefined &&
    (reportedTokens ?? Math.ceil(estimatedCharacters / CHARACTERS_PER_TOKEN)) >= maxTokens;

  for await (const event of events) {
    if (event.type === "text-delta") {
      pending += event.text;
      estimatedCharacters += event.text.length;
      const found = firstStop(pending, stops);
      if (found !== undefined) {
        if (found > 0) yield { type: "text-delta", text: pending.slice(0, found) };
        state.cut = "stop";
        yield { type: "finish", reason: "stop", truncated: true };
        return;
      }
      const release = pending.length - holdBack;
      if (release > 0) {
        yield { type: "text-delta", text: pending.slice(0, release) };
        pending = pending.slice(release);
      }
    } else {
      if (pending !== "" && event.type !== "usage") {
        yield { type: "text-delta", text: pending };
        pending = "";
      }
      if (event.type === "reasoning-delta") estimatedCharacters += event.text.length;
      if (event.type === "usage") reportedTokens = event.usage.outputTokens;
      yield event;
    }
    // Checked after output only: upstream reports a count just before the text it counts,
    // and that text belongs to the answer.
    const output = event.type === "text-delta" || event.type === "reasoning-delta";
    if (output && overBudget()) {
      if (pending !== "") yield { type: "text-delta", text: pending };
      state.cut = "length";
      yield { type: "finish", reason: "length", truncated: true };
      return;
    }
  }
  if (pending !== "") yield { type: "text-delta", text: pending };
}

function firstStop(text: string, stops: string[]): number | undefined {
  let first: number | undefined;
  for (const stop of stops) {
    const index = text.indexOf(stop);
    if (index >= 0 && (first === undefined || index < first)) first = index;
  }
  return first;
}
