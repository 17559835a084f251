import { describe, expect, it } from "vitest";
import { QwenError } from "../errors.js";
import type { QwenEvent } from "../events.js";
import type { QwenClient } from "../qwen/client.js";
import { withMediaFallback } from "./media-fallback.js";

// Which reply of the chat detail may stand in for an empty media answer: only this turn's.

const URL_A = "https://cdn.qwenlm.ai/output/u/t2i/a/1.png?key=a";

function detailWith(...assistants: Array<{ id: string; content: string }>) {
  return {
    chat: {
      history: { messages: {} },
      messages: assistants.flatMap((message) => [
        { id: `user-${message.id}`, role: "user", content: "draw" },
        { role: "assistant", ...message },
      ]),
    },
  };
}

async function run(
  detail: Record<string, unknown>,
  before: QwenEvent[],
  options: { previousResponseId?: string | null } = {},
): Promise<QwenEvent[]> {
  async function* empty(): AsyncGenerator<QwenEvent> {
    yield* before;
    throw new QwenError("empty_response", "Upstream finished with no answer");
  }
  const client = { getChat: async () => detail } as unknown as QwenClient;
  const events: QwenEvent[] = [];
  for await (const event of withMediaFallback(empty(), {
    client,
    chatId: "c",
    chatType: "t2i",
    ...options,
  })) {
    events.push(event);
  }
  return events;
}

describe("the media look-up", () => {
  it("answers with this turn's image and its id", async () => {
    const events = await run(detailWith({ id: "r1", content: URL_A }), []);
    expect(events).toEqual([
      { type: "response-created", responseId: "r1", parentId: null },
      { type: "image", url: URL_A },
      { type: "finish", reason: "stop" },
    ]);
  });

  it("never takes the reply this turn continues", async () => {
    await expect(
      run(detailWith({ id: "r1", content: URL_A }), [], { previousResponseId: "r1" }),
    ).rejects.toThrow("no answer");
  });

  it("never takes another reply than the one upstream announced", async () => {
    const created: QwenEvent = { type: "response-created", responseId: "r2" };
    await expect(run(detailWith({ id: "r1", content: URL_A }), [created])).rejects.toThrow("no answer");
    const own = await run(detailWith({ id: "r1", content: "old" }, { id: "r2", content: URL_A }), [created]);
    expect(own.filter((event) => event.type === "image")).toEqual([{ type: "image", url: URL_A }]);
  });
});
