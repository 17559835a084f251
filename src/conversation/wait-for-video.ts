import { QwenError } from "../errors.js";
import type { QwenClient } from "../qwen/client.js";

export interface WaitForVideoOptions {
  signal?: AbortSignal;
  intervalMs?: number;
  timeoutMs?: number;
}

/**
 * Polls a video task until it has a URL. The task belongs to the account that created it,
 * so the same client must poll.
 */
export async function waitForVideo(
  client: QwenClient,
  taskId: string,
  options: WaitForVideoOptions = {},
): Promise<string> {
  const interval = options.intervalMs ?? 3000;
  const deadline = Date.now() + (options.timeoutMs ?? 5 * 60_000);
  for (;;) {
    const status = await client.getTaskStatus(taskId, { signal: options.signal });
    if (status.state === "success" && status.url) return status.url;
    if (status.state === "failed") {
      throw new QwenError("upstream_error", `Video generation failed (${status.rawStatus})`);
    }
    if (Date.now() + interval > deadline) throw new QwenError("timeout", "Video generation took too long");
    await sleep(interval, options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new QwenError("aborted", "The request was aborted"));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new QwenError("aborted", "The request was aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
