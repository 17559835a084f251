import type { ServerResponse } from "node:http";

export interface SseWriterOptions {
  /** A `: keep-alive` comment goes out when nothing was written for this long. */
  keepAliveMs: number;
  headers?: Record<string, string>;
}

/**
 * Writes Server-Sent Events straight to the socket: headers flushed at once, one
 * `data: <json>` line and a blank line per event, comments as heartbeats while upstream is
 * silent, and writes that wait when the client reads slowly instead of piling up in memory.
 */
export class SseWriter {
  readonly #response: ServerResponse;
  readonly #keepAliveMs: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(response: ServerResponse, options: SseWriterOptions) {
    this.#response = response;
    this.#keepAliveMs = options.keepAliveMs;
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      ...options.headers,
    });
    response.flushHeaders();
    response.on("close", () => this.#stop());
    this.#arm();
  }

  /** The client went away or the stream was ended. */
  get closed(): boolean {
    return this.#closed || this.#response.destroyed;
  }

  /** Sends one event: an object as JSON, or a raw string such as `[DONE]`. */
  async send(data: unknown, event?: string): Promise<void> {
    const payload = typeof data === "string" ? data : JSON.stringify(data);
    await this.#write(`${event ? `event: ${event}\n` : ""}data: ${payload}\n\n`);
  }

  async comment(text: string): Promise<void> {
    await this.#write(`: ${text}\n\n`);
  }

  end(): void {
    if (this.#closed) return;
    this.#stop();
    this.#response.end();
  }

  async #write(text: string): Promise<void> {
    if (this.closed) return;
    this.#arm();
    if (this.#response.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.#response.off("drain", done);
        this.#response.off("close", done);
        resolve();
      };
      this.#response.on("drain", done);
      this.#response.on("close", done);
    });
  }

  #arm(): void {
    if (this.#closed) return;
    if (this.#timer) this.#timer.refresh();
    else {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.comment("keep-alive");
      }, this.#keepAliveMs);
      this.#timer.unref();
    }
  }

  #stop(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
