import type { RequestContext } from "./request-context.js";
import { sleep, yieldToEventLoop } from "./request-context.js";
import { outputModerationDetails, quotaDetails } from "./scenario-replies.js";
import { SseByteWriter } from "./sse-writer.js";
import { errorEvent, type PlannedEvent } from "./stream-plan.js";
import type { FakeScenario } from "./types.js";

// Plays a planned stream to the client, applying stream-stage scenarios on the way.
// The stream ends by closing the body after the final event: there is never a [DONE].

export interface RunStreamInput {
  context: RequestContext;
  plan: PlannedEvent[];
  scenario: FakeScenario | null;
  responseId: string;
  onAnswerText(text: string): void;
}

const moderationAfterDeltas = 3;

export async function runStream({
  context,
  plan,
  scenario,
  responseId,
  onAnswerText,
}: RunStreamInput): Promise<void> {
  const { response, signal } = context;
  response.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
  });
  response.flushHeaders();
  if (scenario?.kind === "empty-stream") {
    response.end();
    return;
  }

  const writer = new SseByteWriter(response, context.createRandom(), signal);
  const slowDelay = scenario?.kind === "slow-chunks" ? scenario.delayMs : null;
  const pause = async () => {
    const delay = slowDelay ?? context.settings.chunkDelayMs;
    if (delay > 0) await sleep(delay, signal);
    else await yieldToEventLoop();
  };
  const finishWith = async (text: string) => {
    await pause();
    if (await writer.write(text)) response.end();
  };

  let answerDeltas = 0;
  for (const [index, event] of plan.entries()) {
    // Slow mode also delays the first event, so first-byte timeouts can be exercised.
    if (index > 0 || slowDelay !== null) await pause();
    if (!(await writer.write(event.text))) return abandon(context);
    if (event.kind === "created" && scenario?.kind === "quota") {
      return finishWith(errorEvent("internal_error", quotaDetails));
    }
    if (event.kind !== "answer" || !event.answerText) continue;
    onAnswerText(event.answerText);
    answerDeltas += 1;
    if (scenario?.kind === "drop-mid-answer" && answerDeltas >= (scenario.afterDeltas ?? 3)) {
      response.socket?.destroy();
      response.destroy();
      return;
    }
    if (scenario?.kind === "moderation" && answerDeltas >= moderationAfterDeltas) {
      return finishWith(errorEvent("data_inspection_failed", outputModerationDetails, responseId));
    }
  }
  response.end();
}

function abandon(context: RequestContext): void {
  if (!context.response.destroyed) context.response.destroy();
}
