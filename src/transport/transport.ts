/**
 * How bytes reach upstream. The qwen/ layer builds requests and reads responses; a transport
 * only moves them: directly over HTTP (direct.ts) or, later, through a logged-in browser page.
 * It knows nothing of chats or accounts.
 */

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

export interface TransportRequest {
  method: HttpMethod;
  /** Absolute URL. */
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
  /** How long to wait for the response headers. */
  headersTimeoutMs?: number;
  /** How long the body may stay silent between two chunks. */
  idleTimeoutMs?: number;
}

export interface TransportResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Decoded (decompressed) body bytes as they arrive. Iterating to the end releases it. */
  body: AsyncIterable<Uint8Array>;
  /** Stops reading and releases the connection; safe to call more than once. */
  cancel(): void;
}

export interface Transport {
  readonly kind: "direct" | "browser" | "auto";
  /** Throws QwenError (network_error, timeout, aborted) when no response arrives. */
  request(request: TransportRequest): Promise<TransportResponse>;
  /**
   * The caller found, after reading an answer, that the wall was in the way (an empty stream
   * with a valid token, §2.5): move to the way around it if there is one. True when the next
   * request will take another way.
   */
  escalate?(reason: string): Promise<boolean>;
  close(): Promise<void>;
}
