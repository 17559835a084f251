import { toPythonJson } from "./python-json.js";
import type { ReplyContent } from "./reply-content.js";
import { type RandomSource, randomInteger } from "./seeded-random.js";

// Builds the full list of SSE events for one reply, exactly in the captured wire shape
// (§4.2–§4.5). The runner then decides how many of them actually get written.

export interface PlannedEvent {
  kind: "created" | "progress" | "answer" | "final";
  text: string;
  /** The incremental answer text this event carries (answer events only). */
  answerText?: string;
}

export interface StreamIdentity {
  chatId: string;
  responseId: string;
  userMessageId: string;
}

export interface TextPlanInput extends StreamIdentity {
  phaseMode: boolean;
  thinking: "summary" | "detail" | null;
  content: ReplyContent;
  inputTokens: number;
  /** "answerless" reproduces the WAF-degraded stream: created, one empty delta, finished. */
  answerless: boolean;
  random: RandomSource;
}

export function createdEvent(identity: StreamIdentity): PlannedEvent {
  // Hand-built to keep the captured spacing and the trailing space before the newline.
  const text =
    `data: {"response.created":{"chat_id": ${JSON.stringify(identity.chatId)}, ` +
    `"parent_id": ${JSON.stringify(identity.userMessageId)}, ` +
    `"response_id":${JSON.stringify(identity.responseId)}, "response_index": "0"}} \n\n`;
  return { kind: "created", text };
}

export function dataEvent(payload: unknown): string {
  return `data: ${toPythonJson(payload)}\n\n`;
}

export function buildTextPlan(input: TextPlanInput): PlannedEvent[] {
  const events: PlannedEvent[] = [createdEvent(input)];
  const usage = new UsageCounter(input.inputTokens);
  const phase = (name: string) => (input.phaseMode ? name : undefined);
  const typing = (delta: Record<string, unknown>) =>
    dataEvent({
      choices: [{ delta }],
      response_id: input.responseId,
      usage: usage.snapshot(),
      timestamp: nowSeconds(),
    });
  const finished = (phaseName: string, withTimestamp: boolean, extra?: Record<string, unknown>) =>
    dataEvent({
      choices: [
        { delta: { content: "", role: "assistant", status: "finished", phase: phase(phaseName), extra } },
      ],
      response_id: input.responseId,
      timestamp: withTimestamp ? nowSeconds() : undefined,
    });

  if (input.answerless) {
    events.push({ kind: "answer", text: typing(answerDelta("", phase("answer"))), answerText: "" });
    events.push({ kind: "final", text: finished("answer", false) });
    return events;
  }

  const results = input.content.searchResults;
  if (input.phaseMode && results.length > 0) {
    for (let count = 1; count <= results.length; count += 1) {
      const extra = { web_search_info: results.slice(0, count) };
      events.push({ kind: "progress", text: typing(phasedDelta("web_search", extra)) });
    }
    events.push({ kind: "progress", text: finished("web_search", true, { web_search_info: results }) });
  }

  if (input.thinking === "summary") {
    for (const snapshot of summarySnapshots(input.content)) {
      usage.addReasoning(3);
      events.push({ kind: "progress", text: typing(phasedDelta("thinking_summary", snapshot)) });
    }
    events.push({ kind: "progress", text: finished("thinking_summary", true) });
  } else if (input.thinking === "detail") {
    const reasoning = input.content.thinkingThoughts.join("\n\n");
    for (const piece of splitIntoPieces(reasoning, input.random)) {
      usage.addReasoning(tokensOf(piece));
      events.push({
        kind: "progress",
        text: typing({ role: "assistant", content: piece, phase: "think", status: "typing" }),
      });
    }
    events.push({ kind: "progress", text: finished("think", true) });
  }

  const pieces = splitIntoPieces(input.content.answer, input.random);
  pieces.forEach((piece, index) => {
    usage.addText(tokensOf(piece));
    events.push({ kind: "answer", text: typing(answerDelta(piece, phase("answer"))), answerText: piece });
    // Real streams contain empty deltas; clients must not treat them as the end.
    if (index === 0 || input.random() < 0.08) {
      events.push({ kind: "answer", text: typing(answerDelta("", phase("answer"))), answerText: "" });
    }
  });
  events.push({ kind: "answer", text: typing(answerDelta("", phase("answer"))), answerText: "" });
  events.push({ kind: "final", text: finished("answer", false) });
  return events;
}

export interface ImagePlanInput extends StreamIdentity {
  phaseMode: boolean;
  imageUrl: string;
  width: number;
  height: number;
}

export function buildImagePlan(input: ImagePlanInput): PlannedEvent[] {
  const usage = {
    input_tokens: 0,
    output_tokens: 0,
    characters: 0,
    width: input.width,
    height: input.height,
    image_count: 1,
  };
  const phase = input.phaseMode ? "image_gen" : undefined;
  const imageEvent = dataEvent({
    choices: [
      {
        delta: {
          role: "assistant",
          content: input.imageUrl,
          phase,
          status: "typing",
          extra: { output_image_hw: [[input.height, input.width]] },
        },
      },
    ],
    response_id: input.responseId,
    usage,
    timestamp: nowSeconds(),
  });
  const finalEvent = dataEvent({
    choices: [{ delta: { content: "", role: "assistant", status: "finished", phase } }],
    response_id: input.responseId,
  });
  // The full URL arrives more than once: clients must not concatenate media deltas.
  return [
    createdEvent(input),
    { kind: "answer", text: imageEvent, answerText: input.imageUrl },
    { kind: "answer", text: imageEvent, answerText: "" },
    { kind: "final", text: finalEvent },
  ];
}

export function errorEvent(code: string, details: string, responseId?: string): string {
  return dataEvent({ error: { code, details }, response_id: responseId });
}

function answerDelta(content: string, phase: string | undefined): Record<string, unknown> {
  return { role: "assistant", content, phase, status: "typing" };
}

function phasedDelta(phase: string, extra: Record<string, unknown>): Record<string, unknown> {
  return { role: "assistant", content: "", phase, extra, status: "typing" };
}

/** Cumulative snapshots: each repeats every array so far, and the last thought grows. */
function summarySnapshots(content: ReplyContent): Array<Record<string, unknown>> {
  const snapshots: Array<Record<string, unknown>> = [];
  content.thinkingThoughts.forEach((thought, index) => {
    const codePoints = Array.from(thought);
    for (const fraction of [1 / 3, 2 / 3, 1]) {
      const partial = codePoints.slice(0, Math.max(1, Math.round(codePoints.length * fraction))).join("");
      snapshots.push({
        summary_title: { content: content.thinkingTitles.slice(0, index + 1) },
        summary_thought: { content: [...content.thinkingThoughts.slice(0, index), partial] },
      });
    }
  });
  return snapshots;
}

/** A few code points per delta; long texts get proportionally larger pieces. */
export function splitIntoPieces(text: string, random: RandomSource): string[] {
  const codePoints = Array.from(text);
  const scale = Math.max(1, Math.ceil(codePoints.length / 400));
  const pieces: string[] = [];
  for (let start = 0; start < codePoints.length; ) {
    const size = randomInteger(random, 1, 5) * scale;
    pieces.push(codePoints.slice(start, start + size).join(""));
    start += size;
  }
  return pieces;
}

function tokensOf(piece: string): number {
  return Math.max(1, Math.ceil(Array.from(piece).length / 3));
}

class UsageCounter {
  private textTokens = 0;
  private reasoningTokens = 0;

  constructor(private readonly inputTokens: number) {}

  addText(tokens: number): void {
    this.textTokens += tokens;
  }

  addReasoning(tokens: number): void {
    this.reasoningTokens += tokens;
  }

  snapshot(): Record<string, unknown> {
    const output = this.textTokens + this.reasoningTokens;
    return {
      input_tokens: this.inputTokens,
      output_tokens: output,
      characters: 0,
      total_tokens: this.inputTokens + output,
      input_tokens_details: { text_tokens: this.inputTokens },
      output_tokens_details: { text_tokens: output, reasoning_tokens: this.reasoningTokens },
      prompt_tokens_details: { cached_tokens: 0 },
    };
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
