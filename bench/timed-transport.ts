import type { Transport, TransportRequest, TransportResponse } from "../src/transport/transport.js";

/** `performance.now()` marks of the last request made through a TimedTransport. */
export interface TransportMarks {
  /** The response head reached Node. */
  headers?: number;
  /** The first body bytes reached Node. */
  firstByte?: number;
}

/**
 * Wraps a transport to note when the head and the first body bytes of a response reach Node,
 * below QwenClient's parsing. The marks are for requests made one at a time (each one resets
 * them); the head count holds for concurrent ones too.
 */
export class TimedTransport implements Transport {
  readonly kind: Transport["kind"];
  marks: TransportMarks = {};
  /** Responses whose head has arrived, over all requests (concurrent ones too). */
  heads = 0;
  readonly #inner: Transport;

  constructor(inner: Transport) {
    this.#inner = inner;
    this.kind = inner.kind;
  }

  async request(request: TransportRequest): Promise<TransportResponse> {
    const marks: TransportMarks = {};
    this.marks = marks;
    const response = await this.#inner.request(request);
    marks.headers = performance.now();
    this.heads++;
    return { ...response, body: markFirstChunk(response.body, marks) };
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

async function* markFirstChunk(
  body: AsyncIterable<Uint8Array>,
  marks: TransportMarks,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    marks.firstByte ??= performance.now();
    yield chunk;
  }
}
