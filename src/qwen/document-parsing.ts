import { QwenError } from "../errors.js";
import { asRecord, asString } from "./json-shape.js";

/** Sends one authenticated JSON POST to upstream and returns the parsed reply. */
export type PostJson = (path: string, body: unknown, signal: AbortSignal | undefined) => Promise<unknown>;

export interface DocumentParsingOptions {
  postJson: PostJson;
  fileId: string;
  /** The web app polls about once a second. */
  pollIntervalMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

export type ParseState = "pending" | "success" | "failed";

/**
 * Asks upstream to parse an uploaded document and waits until it has (§3.4 step 4). A
 * completion that references a document still being parsed sees no content, so the upload
 * is not done before this is.
 */
export async function parseDocument(options: DocumentParsingOptions): Promise<void> {
  const { postJson, fileId, signal } = options;
  await postJson("/api/v2/files/parse", { file_id: fileId }, signal);
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const reply = await postJson("/api/v2/files/parse/status", { file_id_list: [fileId] }, signal);
    const { state, rawStatus } = readParseState(reply, fileId);
    if (state === "success") return;
    if (state === "failed") {
      throw new QwenError("upstream_error", "Upstream's document parsing failed", {
        details: `file ${fileId}: ${rawStatus}`,
      });
    }
    if (Date.now() + options.pollIntervalMs > deadline) {
      throw new QwenError(
        "timeout",
        `Upstream did not finish parsing the document within ${Math.round(options.timeoutMs / 1000)} s`,
        { details: `file ${fileId}: ${rawStatus || "no status"}` },
      );
    }
    await sleep(options.pollIntervalMs, signal);
  }
}

/** `{"data":[{"file_id","status"}]}`: the entry for this file, else the first one. */
export function readParseState(reply: unknown, fileId: string): { state: ParseState; rawStatus: string } {
  const data = asRecord(reply)?.data;
  const entries = Array.isArray(data) ? data.map((entry) => asRecord(entry)) : [asRecord(data)];
  const entry = entries.find((candidate) => candidate?.file_id === fileId) ?? entries[0];
  const rawStatus = (asString(entry?.status) ?? asString(entry?.parse_status) ?? "").toLowerCase();
  if (rawStatus === "success" || rawStatus === "succeeded" || rawStatus === "finished") {
    return { state: "success", rawStatus };
  }
  if (rawStatus === "failed" || rawStatus === "error" || rawStatus === "fail") {
    return { state: "failed", rawStatus };
  }
  return { state: "pending", rawStatus };
}

function sleep(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new QwenError("aborted", "The request was aborted", { cause: signal.reason }));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new QwenError("aborted", "The request was aborted", { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, milliseconds);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
