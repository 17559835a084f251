import type { QwenEvent } from "../events.js";

/** OpenAI's `response_format`, as far as it changes what the model is asked for. */
export type AnswerFormat =
  | { type: "json_object" }
  | { type: "json_schema"; name?: string; description?: string; schema?: unknown };

/**
 * Qwen's web API has no JSON mode, so the model is told in words: an instruction added to the
 * message sent upstream (never to the stored history, which stays as the client wrote it).
 */
export function jsonInstruction(format: AnswerFormat): string {
  const lines = [
    "[Answer format] Reply with one JSON value and nothing else: no explanation before or after it, no Markdown, no code fences.",
  ];
  if (format.type === "json_schema" && format.schema !== undefined) {
    const label = format.name ? ` "${format.name}"` : "";
    lines.push(`The JSON must be valid against this JSON Schema${label}:`);
    if (format.description) lines.push(format.description);
    lines.push(JSON.stringify(format.schema));
  } else {
    lines.push("The value must be a JSON object.");
  }
  return lines.join("\n");
}

const OPENING_FENCE = /^\s*```[a-zA-Z0-9_-]*[ \t]*\r?\n/;
const CLOSING_FENCE = /\r?\n?[ \t]*```\s*$/;

/**
 * Models asked for bare JSON still wrap it in a Markdown fence now and then; clients then fail
 * in `JSON.parse`. This removes a fence around the whole answer as it streams: the start is
 * held until it shows whether a fence opens, and a few characters at the end until the answer
 * is over, so a closing fence can be dropped too. Anything else passes unchanged.
 */
export async function* stripJsonFences(events: AsyncIterable<QwenEvent>): AsyncGenerator<QwenEvent> {
  let head = "";
  let decided = false;
  let fenced = false;
  let tail = "";
  const TAIL = 8;

  function* release(text: string): Generator<QwenEvent> {
    if (!fenced) {
      if (text !== "") yield { type: "text-delta", text };
      return;
    }
    tail += text;
    if (tail.length > TAIL) {
      yield { type: "text-delta", text: tail.slice(0, tail.length - TAIL) };
      tail = tail.slice(-TAIL);
    }
  }

  function* flush(): Generator<QwenEvent> {
    if (!decided) {
      decided = true;
      const stripped = head.replace(OPENING_FENCE, "");
      fenced = stripped !== head;
      head = "";
      if (fenced) tail = stripped;
      else if (stripped !== "") yield { type: "text-delta", text: stripped };
    }
    if (fenced) {
      const text = tail.replace(CLOSING_FENCE, "");
      tail = "";
      if (text !== "") yield { type: "text-delta", text };
    }
  }

  for await (const event of events) {
    if (event.type !== "text-delta") {
      if (event.type === "finish") yield* flush();
      yield event;
      continue;
    }
    if (decided) {
      yield* release(event.text);
      continue;
    }
    head += event.text;
    const trimmed = head.trimStart();
    // Undecided while the answer could still be the start of a fence line.
    if (trimmed === "" || ("```".startsWith(trimmed.slice(0, 3)) && !/\n/.test(trimmed))) continue;
    decided = true;
    const stripped = head.replace(OPENING_FENCE, "");
    fenced = stripped !== head;
    head = "";
    yield* release(stripped);
  }
  yield* flush();
}
