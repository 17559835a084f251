/**
 * Bytes handed from a producer that can wait (the page, which pauses its reads until `push`
 * settles) to one consumer that iterates. `push` settles only while the buffer is under its
 * high-water mark, which bounds the memory a slow consumer can cost.
 */
export class ChunkQueue implements AsyncIterable<Uint8Array> {
  readonly #highWaterMark: number;
  readonly #chunks: Uint8Array[] = [];
  #bufferedBytes = 0;
  #ended = false;
  #failure: { error: unknown } | undefined;
  #wakeReader: (() => void) | undefined;
  #wakeWriters: (() => void)[] = [];

  constructor(highWaterMark: number) {
    this.#highWaterMark = highWaterMark;
  }

  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** True once ended or failed: later pushes are dropped. */
  get finished(): boolean {
    return this.#ended || this.#failure !== undefined;
  }

  /** Adds a chunk; settles when there is room for the next one (or the queue is finished). */
  push(chunk: Uint8Array): Promise<void> {
    if (this.finished) return Promise.resolve();
    this.#chunks.push(chunk);
    this.#bufferedBytes += chunk.byteLength;
    this.#wake();
    if (this.#bufferedBytes <= this.#highWaterMark) return Promise.resolve();
    return new Promise((resolve) => this.#wakeWriters.push(resolve));
  }

  /** No more chunks: the reader gets what is buffered, then the end. */
  end(): void {
    if (this.finished) return;
    this.#ended = true;
    this.#wake();
    this.#releaseWriters();
  }

  /** The reader gets what is buffered, then `error`. */
  fail(error: unknown): void {
    if (this.finished) return;
    this.#failure = { error };
    this.#wake();
    this.#releaseWriters();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk) {
        this.#bufferedBytes -= chunk.byteLength;
        if (this.#bufferedBytes <= this.#highWaterMark) this.#releaseWriters();
        yield chunk;
        continue;
      }
      if (this.#failure) throw this.#failure.error;
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wakeReader = resolve;
      });
    }
  }

  #wake(): void {
    const wake = this.#wakeReader;
    this.#wakeReader = undefined;
    wake?.();
  }

  #releaseWriters(): void {
    const writers = this.#wakeWriters;
    this.#wakeWriters = [];
    for (const resolve of writers) resolve();
  }
}
