import { QwenError } from "../errors.js";
import type { QwenEvent, SearchResult } from "../events.js";
import { classifyBusinessError, looksLikeWafPage } from "./classify-error.js";
import { asString, isRecord } from "./json-shape.js";
import { readUsage, usageKey } from "./read-usage.js";

/** Phases whose `content` is reasoning text, sent incrementally (older models). */
const INCREMENTAL_REASONING_PHASES = new Set(["think", "thinking", "reasoning", "reasoning_content"]);
/** Delta fields some models use for reasoning instead of a phase (seen in parsers, not captures). */
const REASONING_FIELDS = ["reasoning_content", "reasoning", "thinking", "thoughts"] as const;

/**
 * Turns the payloads of upstream's SSE `data:` lines into internal events (protocol notes §4).
 * Pure and synchronous: framing and bytes are the caller's job.
 *
 * What it takes care of:
 * - `thinking_summary` snapshots repeat everything so far; only the new part is emitted;
 * - a missing phase is the answer; only `finished` of the answer (or image) phase ends the reply;
 * - business errors inside the stream become a thrown QwenError;
 * - a reply with no answer content is an error, never an empty success.
 */
export class QwenStreamParser {
  #finished = false;
  #answerSeen = false;
  #reasoningSeen = false;
  #responseId: string | undefined;
  #lastUsageKey = "";
  /** Per snapshot index, how much of that paragraph was emitted. */
  readonly #emittedThoughts: string[] = [];
  /** Headings emitted while no thought had come yet (some streams send them first). */
  readonly #emittedTitles: string[] = [];
  readonly #seenSearchUrls = new Set<string>();
  readonly #seenImageUrls = new Set<string>();

  get finished(): boolean {
    return this.#finished;
  }

  /** Anything at all came that a user would see (answer text or an image). */
  get answerSeen(): boolean {
    return this.#answerSeen;
  }

  get responseId(): string | undefined {
    return this.#responseId;
  }

  /** Parses one `data:` payload. Throws QwenError for errors upstream put in the stream. */
  push(data: string): QwenEvent[] {
    const trimmed = data.trim();
    if (trimmed === "" || this.#finished) return [];
    if (trimmed === "[DONE]") return this.#onDoneSentinel();
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      return this.#pushUnparsable(trimmed);
    }
    return isRecord(parsed) ? this.#handleObject(parsed) : [];
  }

  /**
   * The stream ended. Returns nothing when the reply was finished; otherwise throws: an empty
   * stream and a cut-off one are both failures the caller can retry.
   */
  end(): QwenEvent[] {
    if (this.#finished) return [];
    if (this.#answerSeen) {
      throw new QwenError("incomplete_response", "Upstream closed the stream before the answer was finished");
    }
    throw this.#emptyError();
  }

  /** Upstream never sends [DONE]; tolerate it as an end marker when an answer arrived. */
  #onDoneSentinel(): QwenEvent[] {
    if (!this.#answerSeen) return [];
    this.#finished = true;
    return [{ type: "finish", reason: "stop", ...this.#idField() }];
  }

  /**
   * Several `data:` lines with no blank line between them arrive joined by "\n" (some sources
   * frame per line); anything else unreadable is skipped unless it is an anti-bot page.
   */
  #pushUnparsable(text: string): QwenEvent[] {
    if (text.includes("\n")) {
      return text.split("\n").flatMap((line) => this.push(line.replace(/^data:\s?/, "")));
    }
    if (looksLikeWafPage(text)) {
      throw new QwenError("waf_challenge", "Upstream put an anti-bot challenge into the stream", {
        details: text.slice(0, 300),
      });
    }
    return [];
  }

  #handleObject(event: Record<string, unknown>): QwenEvent[] {
    const events: QwenEvent[] = [];
    const created = event["response.created"];
    if (isRecord(created)) {
      const responseId = asString(created.response_id);
      if (responseId) {
        this.#responseId = responseId;
        events.push({
          type: "response-created",
          responseId,
          chatId: asString(created.chat_id),
          parentId: asString(created.parent_id) ?? null,
        });
      }
      return events;
    }

    const error = classifyBusinessError(event);
    if (error) throw error;

    const topLevelId = asString(event.response_id);
    if (topLevelId && !this.#responseId) {
      // No response.created came first; later events still carry the id.
      this.#responseId = topLevelId;
      events.push({ type: "response-created", responseId: topLevelId, parentId: null });
    }

    const usage = readUsage(event.usage);
    if (usage) {
      const key = usageKey(usage);
      if (key !== this.#lastUsageKey) {
        this.#lastUsageKey = key;
        events.push({ type: "usage", usage });
      }
    }

    const choices = Array.isArray(event.choices) ? event.choices : [];
    const choice = isRecord(choices[0]) ? choices[0] : undefined;
    const delta = choice && isRecord(choice.delta) ? choice.delta : undefined;
    if (delta) this.#handleDelta(delta, events);
    return events;
  }

  #handleDelta(delta: Record<string, unknown>, events: QwenEvent[]): void {
    const extra = isRecord(delta.extra) ? delta.extra : undefined;
    const phase = asString(delta.phase) ?? (delta.name === "web_search" ? "web_search" : undefined);
    const content = typeof delta.content === "string" ? delta.content : "";

    if (phase !== "thinking_summary") {
      for (const field of REASONING_FIELDS) {
        const value = delta[field] ?? extra?.[field];
        if (typeof value === "string" && value !== "") this.#reasoning(value, events);
      }
    }
    this.#searchResults(extra?.web_search_info, events);
    this.#imageList(extra?.image_list, events);

    if (phase === "thinking_summary") {
      this.#thinkingSnapshot(extra, events);
      if (content !== "") this.#reasoning(content, events);
      return;
    }
    if (phase && INCREMENTAL_REASONING_PHASES.has(phase)) {
      if (content !== "") this.#reasoning(content, events);
      return;
    }
    if (phase === "web_search") return;
    if (phase === "image_gen") {
      if (content.trim() !== "") this.#image(content.trim(), readImageSize(extra), events);
      if (delta.status === "finished") this.#finish(events);
      return;
    }
    if (phase === undefined || phase === "answer") {
      if (content !== "") {
        this.#answerSeen = true;
        events.push({ type: "text-delta", text: content });
      }
      if (delta.status === "finished") this.#finish(events);
      return;
    }
    // Phases this client does not know: their text is not the answer, but a media URL in it
    // is a result (image edits have been seen outside `image_gen`, §4.5).
    for (const url of mediaUrlsIn(content)) this.#image(url, readImageSize(extra), events);
    if (delta.status === "finished" && this.#seenImageUrls.size > 0) this.#finish(events);
  }

  #finish(events: QwenEvent[]): void {
    if (!this.#answerSeen) throw this.#emptyError();
    this.#finished = true;
    events.push({ type: "finish", reason: "stop", ...this.#idField() });
  }

  #idField(): { responseId?: string } {
    return this.#responseId ? { responseId: this.#responseId } : {};
  }

  #emptyError(): QwenError {
    const what = this.#reasoningSeen ? "reasoning but no answer" : "no answer";
    return new QwenError("empty_response", `Upstream finished with ${what}`);
  }

  #reasoning(text: string, events: QwenEvent[]): void {
    this.#reasoningSeen = true;
    events.push({ type: "reasoning-delta", text });
  }

  /**
   * `summary_thought.content` is the whole list of paragraphs so far, and its last paragraph
   * may itself grow. Emit each paragraph's new tail once, paragraphs separated by a blank line.
   */
  #thinkingSnapshot(extra: Record<string, unknown> | undefined, events: QwenEvent[]): void {
    const thoughts = readSnapshot(extra?.summary_thought);
    // Headings stand in for the reasoning only until thoughts arrive; the two lists are
    // snapshots of their own, each diffed against what was emitted from it.
    if (thoughts.length > 0) this.#emitSnapshot(thoughts, this.#emittedThoughts, events);
    else this.#emitSnapshot(readSnapshot(extra?.summary_title), this.#emittedTitles, events);
  }

  #emitSnapshot(paragraphs: string[], emittedList: string[], events: QwenEvent[]): void {
    paragraphs.forEach((paragraph, index) => {
      const emitted = emittedList[index];
      if (emitted === undefined) {
        if (paragraph === "") return;
        emittedList[index] = paragraph;
        const separator = this.#reasoningSeen ? "\n\n" : "";
        this.#reasoning(separator + paragraph, events);
        return;
      }
      // A paragraph that was rewritten rather than extended cannot be taken back; skip it.
      if (paragraph.length > emitted.length && paragraph.startsWith(emitted)) {
        emittedList[index] = paragraph;
        this.#reasoning(paragraph.slice(emitted.length), events);
      }
    });
  }

  #searchResults(value: unknown, events: QwenEvent[]): void {
    if (!Array.isArray(value)) return;
    const results: SearchResult[] = [];
    for (const item of value) {
      if (!isRecord(item)) continue;
      const url = asString(item.url);
      if (!url || this.#seenSearchUrls.has(url)) continue;
      this.#seenSearchUrls.add(url);
      results.push({
        url,
        title: asString(item.title) ?? url,
        snippet: asString(item.snippet),
        hostname: asString(item.hostname),
        date: asString(item.date),
      });
    }
    if (results.length > 0) events.push({ type: "search-results", results });
  }

  #imageList(value: unknown, events: QwenEvent[]): void {
    if (!Array.isArray(value)) return;
    for (const item of value) {
      const url = isRecord(item) ? (asString(item.image) ?? asString(item.url)) : asString(item);
      if (url) this.#image(url, {}, events);
    }
  }

  #image(url: string, size: { width?: number; height?: number }, events: QwenEvent[]): void {
    this.#answerSeen = true;
    if (this.#seenImageUrls.has(url)) return;
    this.#seenImageUrls.add(url);
    events.push({ type: "image", url, ...size });
  }
}

/** Signed media URLs on Qwen's CDN (`…/output/…?key=…`), the shape every generated file has. */
const MEDIA_URL = /https?:\/\/[^\s"'<>()]+\/output\/[^\s"'<>()]+\?key=[^\s"'<>()]+/g;

function mediaUrlsIn(text: string): string[] {
  return text.match(MEDIA_URL) ?? [];
}

function readSnapshot(value: unknown): string[] {
  const list = isRecord(value) ? value.content : value;
  return Array.isArray(list) ? list.map((item) => (typeof item === "string" ? item : "")) : [];
}

function readImageSize(extra: Record<string, unknown> | undefined): { width?: number; height?: number } {
  const size = extra?.output_image_hw;
  // Seen as [[height, width]] or [height, width]; only take it when it is plainly numeric.
  const pair = Array.isArray(size) && Array.isArray(size[0]) ? size[0] : size;
  if (Array.isArray(pair) && typeof pair[0] === "number" && typeof pair[1] === "number") {
    return { height: pair[0], width: pair[1] };
  }
  return {};
}
