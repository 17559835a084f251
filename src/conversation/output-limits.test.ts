import { describe, expect, it } from "vitest";
import type { QwenEvent, TokenUsage } from "../events.js";
import { applyOutputLimits, type LimitState, type OutputLimits } from "./output-limits.js";

// The client's `stop` and `max_tokens` applied to a reply as it streams: what comes out, in
// which order, and whether the source (upstream) is closed when the reply is cut.

/** A source of events that records how far it was read and whether it was closed early. */
function source(events: QwenEvent[]) {
  const record = { pulled: 0, closed: false, finished: false };
  async function* generate(): AsyncGenerator<QwenEvent> {
    try {
      for (const event of events) {
        record.pulled += 1;
        yield event;
      }
      record.finished = true;
    } finally {
      // Runs on return(): the upstream request would be aborted here.
      if (!record.finished) record.closed = true;
    }
  }
  return { iterable: generate(), record };
}

async function run(events: QwenEvent[], limits: OutputLimits) {
  const { iterable, record } = source(events);
  const state: LimitState = {};
  const out: QwenEvent[] = [];
  for await (const event of applyOutputLimits(iterable, limits, state)) out.push(event);
  return { out, state, record };
}

const text = (value: string): QwenEvent => ({ type: "text-delta", text: value });
const reasoning = (value: string): QwenEvent => ({ type: "reasoning-delta", text: value });
const usage = (outputTokens: number): QwenEvent => ({
  type: "usage",
  usage: { inputTokens: 1000, outputTokens, totalTokens: 1000 + outputTokens } satisfies TokenUsage,
});
const finish: QwenEvent = { type: "finish", reason: "stop", responseId: "r1" };
const created: QwenEvent = { type: "response-created", responseId: "r1", parentId: null };

const textOf = (events: QwenEvent[]) =>
  events.map((event) => (event.type === "text-delta" ? event.text : "")).join("");
const types = (events: QwenEvent[]) => events.map((event) => event.type);

describe("without limits", () => {
  it("passes every event through unchanged, the source read to its end", async () => {
    const events = [created, reasoning("hm"), text("Hello "), usage(3), text("world"), finish];
    for (const limits of [{}, { stop: [] }, { stop: [""] }] as OutputLimits[]) {
      const { out, state, record } = await run(events, limits);
      expect(out).toEqual(events);
      expect(state.cut).toBeUndefined();
      expect(record.closed).toBe(false);
      expect(record.finished).toBe(true);
    }
  });

  it("a stop string that never appears leaves the text whole, in order, and nothing cut", async () => {
    const { out, state, record } = await run([created, text("abc"), text("def"), text("ghi"), finish], {
      stop: ["XYZ"],
    });
    expect(textOf(out)).toBe("abcdefghi");
    expect(out.at(-1)).toEqual(finish);
    expect(out.filter((event) => event.type === "finish")).toHaveLength(1);
    expect(state.cut).toBeUndefined();
    // Read up to upstream's own finish, which ends the reply.
    expect(record.pulled).toBe(5);
  });

  it("empty stop strings are ignored next to real ones", async () => {
    const { out, state } = await run([text("abc"), text("dXef"), finish], { stop: ["", "X"] });
    expect(textOf(out)).toBe("abcd");
    expect(state.cut).toBe("stop");
  });
});

describe("stop", () => {
  it("finds a stop string split across several deltas; text before it comes out in order", async () => {
    const { out, state, record } = await run(
      [
        created,
        text("Hello, wo"),
        text("rld! EN"),
        text("D"),
        text("OFTEXT and more"),
        text("never"),
        finish,
      ],
      { stop: ["ENDOFTEXT"] },
    );
    expect(textOf(out)).toBe("Hello, world! ");
    expect(out[0]).toEqual(created);
    const last = out.at(-1)!;
    expect(last).toEqual({ type: "finish", reason: "stop", truncated: true });
    expect(out.filter((event) => event.type === "finish")).toHaveLength(1);
    expect(state.cut).toBe("stop");
    // Nothing after the stop string was read: the source was closed (upstream aborted).
    expect(record.closed).toBe(true);
    expect(record.pulled).toBe(5);
  });

  it("a stop string at the very start gives no text at all", async () => {
    const { out, state } = await run([created, text("STOP"), text("after")], { stop: ["STOP"] });
    expect(types(out)).toEqual(["response-created", "finish"]);
    expect(state.cut).toBe("stop");
  });

  it("cuts at the earliest of several stop strings", async () => {
    const { out } = await run([text("one two three four")], { stop: ["four", "two"] });
    expect(textOf(out)).toBe("one ");
  });

  it("text is held back only as long as the longest stop string needs", async () => {
    const { out } = await run([text("abcdef"), text("gh")], { stop: ["xyz"] });
    // "xyz" needs two characters held back: "abcd" goes at once, "ef" waits for the next delta.
    expect(out[0]).toEqual(text("abcd"));
    expect(textOf(out)).toBe("abcdefgh");
  });

  it("held-back text is not released by usage, but before finish and images, and at the end", async () => {
    const throughUsage = await run([text("hello"), usage(2), text("XYZ tail")], { stop: ["XYZ"] });
    expect(throughUsage.out).toEqual([
      text("hel"),
      usage(2),
      text("lo"),
      { type: "finish", reason: "stop", truncated: true },
    ]);

    const beforeImage: QwenEvent = { type: "image", url: "https://x/cat.png" };
    const image = await run([text("hello"), beforeImage, text("more")], { stop: ["XYZ"] });
    expect(image.out).toEqual([text("hel"), text("lo"), beforeImage, text("mo"), text("re")]);
    expect(image.state.cut).toBeUndefined();

    // Whatever upstream sends after its finish (a late usage report) still passes.
    const finished = await run([text("hello"), finish, usage(3)], { stop: ["XYZ"] });
    expect(finished.out).toEqual([text("hel"), text("lo"), finish, usage(3)]);
    // Upstream's own finish is not a cut.
    expect(finished.state.cut).toBeUndefined();

    const ended = await run([text("hello")], { stop: ["XYZ"] });
    expect(ended.out).toEqual([text("hel"), text("lo")]);
    expect(ended.state.cut).toBeUndefined();
  });

  it("a partial stop string that is never completed is released in full", async () => {
    const { out, state } = await run([text("abcXY"), finish], { stop: ["XYZ"] });
    expect(textOf(out)).toBe("abcXY");
    expect(state.cut).toBeUndefined();
  });

  it("reasoning is never searched for stop strings", async () => {
    const { out, state, record } = await run(
      [reasoning("I will say STOP later"), text("Answer "), text("STOP here")],
      { stop: ["STOP"] },
    );
    expect(out[0]).toEqual(reasoning("I will say STOP later"));
    expect(textOf(out)).toBe("Answer ");
    expect(state.cut).toBe("stop");
    expect(record.closed).toBe(true);
  });
});

describe("max tokens", () => {
  it("cuts after the text that brings upstream's count to the limit, and closes the source", async () => {
    // Upstream sends each count just before the text it counts.
    const { out, state, record } = await run(
      [
        created,
        usage(1),
        text("aaaa"),
        usage(2),
        text("bbbb"),
        usage(3),
        text("cccc"),
        usage(4),
        text("dddd"),
        finish,
      ],
      { maxTokens: 3 },
    );
    expect(textOf(out)).toBe("aaaabbbbcccc");
    expect(out.at(-1)).toEqual({ type: "finish", reason: "length", truncated: true });
    expect(out.at(-2)).toEqual(text("cccc"));
    expect(state.cut).toBe("length");
    expect(record.closed).toBe(true);
  });

  it("upstream's numbers win over the estimate once it sent any", async () => {
    // 40 characters would be ten estimated tokens; upstream says two.
    const { out, state } = await run([usage(1), text("x".repeat(40)), usage(2), text("more"), finish], {
      maxTokens: 5,
    });
    expect(textOf(out)).toBe(`${"x".repeat(40)}more`);
    expect(out.at(-1)).toEqual(finish);
    expect(state.cut).toBeUndefined();
  });

  it("without usage, estimates about four characters a token, reasoning included", async () => {
    const { out, state, record } = await run([text("abcd"), text("efgh"), text("ijkl"), text("mnop")], {
      maxTokens: 2,
    });
    expect(textOf(out)).toBe("abcdefgh");
    expect(out.at(-1)).toEqual({ type: "finish", reason: "length", truncated: true });
    expect(state.cut).toBe("length");
    expect(record.closed).toBe(true);

    const thinking = await run([reasoning("12345678"), text("answer")], { maxTokens: 2 });
    expect(types(thinking.out)).toEqual(["reasoning-delta", "finish"]);
    expect(textOf(thinking.out)).toBe("");
    expect(thinking.state.cut).toBe("length");
  });

  it("a reply within the limit is not cut", async () => {
    const { out, state, record } = await run([text("short"), usage(2), finish], { maxTokens: 100 });
    expect(out).toEqual([text("short"), usage(2), finish]);
    expect(state.cut).toBeUndefined();
    expect(record.pulled).toBe(3);
  });

  it("held-back text of a stop search is released when the length limit cuts", async () => {
    // "hello" alone is estimated at two tokens: the limit is reached with "lo" still held back.
    const { out, state } = await run([text("hello"), text("never")], {
      stop: ["XYZ"],
      maxTokens: 2,
    });
    expect(textOf(out)).toBe("hello");
    expect(out.at(-1)).toEqual({ type: "finish", reason: "length", truncated: true });
    expect(state.cut).toBe("length");
  });
});
