import type { QwenEvent, SearchResult, TokenUsage } from "../events.js";
import type { ChatStore } from "../store/chat-store.js";
import { formatImage, formatSources } from "./reply-format.js";

/**
 * Stores an assistant reply while it streams: the message is created as `incomplete` with
 * the first visible output and rewritten at most once per interval, then marked complete.
 * A crash at any point leaves what the user already saw, marked incomplete.
 */
export class ReplyRecorder {
  text = "";
  reasoning = "";
  readonly images: string[] = [];
  readonly sources: SearchResult[] = [];
  usage: TokenUsage | undefined;
  responseId: string | undefined;
  /** Something the user could see was produced (so a retry would show it twice). */
  visible = false;

  readonly #store: ChatStore;
  readonly #chatId: string;
  readonly #model: string;
  readonly #flushIntervalMs: number;
  #messageId: string | undefined;
  #lastFlush = 0;

  constructor(store: ChatStore, chatId: string, model: string, flushIntervalMs = 1000) {
    this.#store = store;
    this.#chatId = chatId;
    this.#model = model;
    this.#flushIntervalMs = flushIntervalMs;
  }

  async record(event: QwenEvent): Promise<void> {
    switch (event.type) {
      case "response-created":
        this.responseId = event.responseId;
        return;
      case "usage":
        this.usage = event.usage;
        return;
      case "text-delta":
        this.text += event.text;
        break;
      case "reasoning-delta":
        this.reasoning += event.text;
        break;
      case "image":
        this.images.push(event.url);
        break;
      case "search-results":
        this.sources.push(...event.results);
        break;
      case "finish":
        // A reply cut at the client's limit ends there: no source list after the cut.
        if (event.truncated) this.sources.length = 0;
        return;
      default:
        return;
    }
    this.visible = true;
    const now = Date.now();
    if (this.#messageId === undefined) {
      const message = await this.#store.appendMessage(this.#chatId, {
        role: "assistant",
        content: this.content(),
        reasoning: this.reasoning || undefined,
        model: this.#model,
        status: "incomplete",
      });
      this.#messageId = message.id;
      this.#lastFlush = now;
    } else if (now - this.#lastFlush >= this.#flushIntervalMs) {
      this.#lastFlush = now;
      await this.#store.updateMessage(this.#chatId, this.#messageId, {
        content: this.content(),
        reasoning: this.reasoning || undefined,
      });
    }
  }

  /** The reply as text, as the surfaces render it: sources listed, images as markdown. */
  content(): string {
    let content = this.text + formatSources(this.sources);
    this.images.forEach((url, index) => {
      content += formatImage(url, index === 0 && content === "");
    });
    return content;
  }

  async complete(): Promise<void> {
    const patch = {
      content: this.content(),
      reasoning: this.reasoning || undefined,
      usage: this.usage,
      status: "complete" as const,
    };
    if (this.#messageId) await this.#store.updateMessage(this.#chatId, this.#messageId, patch);
    else await this.#store.appendMessage(this.#chatId, { role: "assistant", model: this.#model, ...patch });
  }

  /** Keeps what was shown as `incomplete`; a turn that showed nothing is recorded as `failed`. */
  async fail(error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const patch = {
      content: this.content(),
      reasoning: this.reasoning || undefined,
      usage: this.usage,
      status: this.visible ? ("incomplete" as const) : ("failed" as const),
      error: message,
    };
    if (this.#messageId) await this.#store.updateMessage(this.#chatId, this.#messageId, patch);
    else await this.#store.appendMessage(this.#chatId, { role: "assistant", model: this.#model, ...patch });
  }
}
