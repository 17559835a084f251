import { describe, expect, it } from "vitest";
import {
  collect,
  type Framing,
  loadFixture,
  randomOffsets,
  reasoningOf,
  responseFrom,
  splitAt,
  textOf,
  toWire,
} from "../../testing/replay.js";
import type { QwenEvent } from "../events.js";
import { readCompletion } from "./read-completion.js";

async function replay(chunks: Uint8Array[], options?: Parameters<typeof responseFrom>[1]) {
  return collect(readCompletion(responseFrom(chunks, options)));
}

async function replayFixture(name: string, framing: Framing = "sse") {
  return replay([toWire(loadFixture(name), framing)]);
}

const FIXTURES = [
  "fast-answer.sse",
  "thinking-summary.sse",
  "think-incremental.sse",
  "web-search.sse",
  "web-search-legacy.sse",
  "image-gen.sse",
  "no-phase.sse",
  "moderation-in-stream.sse",
  "quota-in-stream.sse",
  "reasoning-only.sse",
  "cut-off.sse",
];

const utf8 = (text: string) => new TextEncoder().encode(text);
const types = (events: QwenEvent[]) => events.map((event) => event.type);

describe("recorded streams", () => {
  it("a fast answer: ids, text, cumulative usage once per change, one finish", async () => {
    const { events, error } = await replayFixture("fast-answer.sse");
    expect(error).toBeUndefined();
    expect(events[0]).toEqual({
      type: "response-created",
      responseId: "5e5e5e5e-0000-4000-8000-000000000003",
      chatId: "c0ffee00-0000-4000-8000-000000000001",
      parentId: "a1b2c3d4-0000-4000-8000-000000000002",
    });
    expect(textOf(events)).toBe("Hi! Привет, 你好 👋");
    const usages = events.filter((event) => event.type === "usage");
    expect(usages).toHaveLength(3);
    expect(usages.at(-1)).toEqual({
      type: "usage",
      usage: { inputTokens: 1049, outputTokens: 7, totalTokens: 1056, cachedTokens: 0 },
    });
    expect(events.at(-1)).toEqual({
      type: "finish",
      reason: "stop",
      responseId: "5e5e5e5e-0000-4000-8000-000000000003",
    });
    expect(types(events).filter((type) => type === "finish")).toHaveLength(1);
  });

  it("thinking snapshots become reasoning without a repeated word, before the answer", async () => {
    const { events, error } = await replayFixture("thinking-summary.sse");
    expect(error).toBeUndefined();
    expect(reasoningOf(events)).toBe(
      "The user asks who I am, in Russian: «кто ты?»\n\nI will introduce myself briefly.",
    );
    expect(textOf(events)).toBe("Я — Qwen, a language model.");
    const lastReasoning = types(events).lastIndexOf("reasoning-delta");
    const firstText = types(events).indexOf("text-delta");
    expect(lastReasoning).toBeLessThan(firstText);
    // The thinking phase's own `finished` does not end the reply.
    expect(types(events).filter((type) => type === "finish")).toHaveLength(1);
    const usage = events.filter((event) => event.type === "usage").at(-1);
    expect(usage).toMatchObject({ usage: { reasoningTokens: 102, outputTokens: 113 } });
  });

  it("headings that come before any thought are kept, and the thoughts after them are not lost", async () => {
    const event = (extra: object, status = "typing") =>
      `data: ${JSON.stringify({
        choices: [{ delta: { role: "assistant", content: "", phase: "thinking_summary", extra, status } }],
        response_id: "R1",
      })}`;
    const lines = [
      event({ summary_title: { content: ["Reading the question"] }, summary_thought: { content: [] } }),
      event({
        summary_title: { content: ["Reading the question"] },
        summary_thought: { content: ["It asks for"] },
      }),
      event({
        summary_title: { content: ["Reading the question", "Answering"] },
        summary_thought: { content: ["It asks for a number.", "Four."] },
      }),
      event({}, "finished"),
      `data: ${JSON.stringify({ choices: [{ delta: { content: "4", phase: "answer", status: "typing" } }] })}`,
      `data: ${JSON.stringify({ choices: [{ delta: { content: "", phase: "answer", status: "finished" } }] })}`,
    ];
    const { events, error } = await replay([toWire(lines)]);
    expect(error).toBeUndefined();
    expect(reasoningOf(events)).toBe("Reading the question\n\nIt asks for a number.\n\nFour.");
    expect(textOf(events)).toBe("4");
  });

  it("a media URL in a phase this client does not know is the result", async () => {
    const url = "https://cdn.qwenlm.ai/output/u1/image_edit/r1/1780468837.png?key=eyJhbGciOi";
    const lines = [
      `data: ${JSON.stringify({ choices: [{ delta: { content: url, phase: "image_edit", status: "typing" } }], response_id: "R2" })}`,
      `data: ${JSON.stringify({ choices: [{ delta: { content: url, phase: "image_edit", status: "typing" } }] })}`,
      `data: ${JSON.stringify({ choices: [{ delta: { content: "", phase: "image_edit", status: "finished" } }] })}`,
    ];
    const { events, error } = await replay([toWire(lines)]);
    expect(error).toBeUndefined();
    expect(events.filter((event) => event.type === "image")).toEqual([{ type: "image", url }]);
    expect(types(events).at(-1)).toBe("finish");
    // A CDN URL the model writes in its answer is text, not an image.
    const cited = [
      `data: ${JSON.stringify({ choices: [{ delta: { content: `See ${url}`, phase: "answer", status: "typing" } }] })}`,
      `data: ${JSON.stringify({ choices: [{ delta: { content: "", phase: "answer", status: "finished" } }] })}`,
    ];
    const answered = await replay([toWire(cited)]);
    expect(types(answered.events).filter((type) => type === "image" || type === "finish")).toEqual([
      "finish",
    ]);
    expect(textOf(answered.events)).toBe(`See ${url}`);
    // Other text in an unknown phase is still not the answer.
    const chatter = [
      `data: ${JSON.stringify({ choices: [{ delta: { content: "planning…", phase: "plan", status: "typing" } }] })}`,
      `data: ${JSON.stringify({ choices: [{ delta: { content: "", phase: "plan", status: "finished" } }] })}`,
    ];
    expect((await replay([toWire(chatter)])).error?.code).toBe("empty_response");
  });

  it("the older `think` phase streams reasoning incrementally", async () => {
    const { events, error } = await replayFixture("think-incremental.sse");
    expect(error).toBeUndefined();
    expect(reasoningOf(events)).toBe("Let me count: 2+2.");
    expect(textOf(events)).toBe("4");
  });

  it("web search results come once each, in order, in both shapes", async () => {
    const { events } = await replayFixture("web-search.sse");
    const results = events.flatMap((event) => (event.type === "search-results" ? event.results : []));
    expect(results.map((result) => result.url)).toEqual(["https://example.org/a", "https://example.net/b"]);
    expect(results[0]).toMatchObject({ title: "Example A", snippet: "first", hostname: "example.org" });
    expect(textOf(events)).toBe("Paris [[1]].");

    const legacy = await replayFixture("web-search-legacy.sse");
    const legacyResults = legacy.events.flatMap((event) =>
      event.type === "search-results" ? event.results : [],
    );
    expect(legacyResults).toEqual([
      {
        url: "https://example.com/x",
        title: "Old shape",
        hostname: "example.com",
        snippet: undefined,
        date: undefined,
      },
    ]);
    expect(textOf(legacy.events)).toBe("Done.");
  });

  it("image generation yields the image URL once, with its size, and finishes", async () => {
    const { events, error } = await replayFixture("image-gen.sse");
    expect(error).toBeUndefined();
    const images = events.filter((event) => event.type === "image");
    expect(images).toEqual([
      {
        type: "image",
        url: "https://cdn.qwenlm.ai/output/u1/t2i/r-image/1780468837.png?key=eyJhbGciOiJIUzI1NiJ9.e30.sig",
        width: 2688,
        height: 1536,
      },
    ]);
    expect(events.at(-1)?.type).toBe("finish");
  });

  it("a stream without phases (and `data:` without a space) is the answer", async () => {
    const { events, error } = await replayFixture("no-phase.sse");
    expect(error).toBeUndefined();
    expect(textOf(events)).toBe("Plain answer ✓");
  });

  it("moderation inside the stream: the text so far, then a typed error", async () => {
    const { events, error } = await replayFixture("moderation-in-stream.sse");
    expect(textOf(events)).toBe("Sure, ");
    expect(error?.code).toBe("moderation");
    expect(error?.accountFault).toBe(true);
    expect(error?.details).toContain("内容安全警告");
  });

  it("a quota error in the stream is quota_exceeded, not a generic failure", async () => {
    const { error } = await replayFixture("quota-in-stream.sse");
    expect(error?.code).toBe("quota_exceeded");
    expect(error?.retryable).toBe(true);
  });

  it("reasoning with no answer is an empty response, never a success", async () => {
    const { events, error } = await replayFixture("reasoning-only.sse");
    expect(reasoningOf(events)).toBe("Thinking hard");
    expect(error?.code).toBe("empty_response");
    expect(error?.message).toContain("reasoning but no answer");
  });

  it("a stream that stops without `finished` is incomplete", async () => {
    const { events, error } = await replayFixture("cut-off.sse");
    expect(textOf(events)).toBe("The answer is");
    expect(error?.code).toBe("incomplete_response");
  });
});

describe("awkward byte splits give the same events", () => {
  for (const name of FIXTURES) {
    it(`${name}: every single split point, byte by byte, and random multi-splits`, async () => {
      const wire = toWire(loadFixture(name));
      const reference = await replay([wire]);
      const runs: Uint8Array[][] = [
        splitAt(
          wire,
          Array.from({ length: wire.length }, (_, index) => index),
        ),
      ];
      for (let seed = 1; seed <= 20; seed++) runs.push(splitAt(wire, randomOffsets(wire.length, 40, seed)));
      for (let offset = 1; offset < wire.length; offset++) runs.push(splitAt(wire, [offset]));
      for (const chunks of runs) {
        const result = await replay(chunks);
        expect(result.events).toEqual(reference.events);
        expect(result.error?.code).toBe(reference.error?.code);
      }
    });
  }

  it("splits inside multi-byte characters really happen in these runs", () => {
    const wire = toWire(loadFixture("fast-answer.sse"));
    const text = new TextDecoder().decode(wire);
    const emojiOffset = utf8(text.slice(0, text.indexOf("👋"))).length;
    const [before] = splitAt(wire, [emojiOffset + 2]);
    expect(() => new TextDecoder("utf-8", { fatal: true }).decode(before)).toThrow();
  });
});

describe("lenient framing", () => {
  it("CRLF line endings", async () => {
    const { events, error } = await replayFixture("fast-answer.sse", "crlf");
    expect(error).toBeUndefined();
    expect(textOf(events)).toBe("Hi! Привет, 你好 👋");
  });

  it("one event per line with no blank lines between them", async () => {
    const { events, error } = await replayFixture("thinking-summary.sse", "line");
    expect(error).toBeUndefined();
    expect(textOf(events)).toBe("Я — Qwen, a language model.");
    expect(reasoningOf(events)).toContain("I will introduce myself briefly.");
  });

  it("JSON lines without the `data:` prefix", async () => {
    const lines = loadFixture("fast-answer.sse").map((line) => line.replace(/^data: /, ""));
    const { events, error } = await replay([toWire(lines)]);
    expect(error).toBeUndefined();
    expect(textOf(events)).toBe("Hi! Привет, 你好 👋");
  });

  it("a trailing [DONE] is ignored, and ends a reply that had no `finished`", async () => {
    const withDone = [...loadFixture("fast-answer.sse"), "data: [DONE]"];
    const first = await replay([toWire(withDone)]);
    expect(first.error).toBeUndefined();
    expect(types(first.events).filter((type) => type === "finish")).toHaveLength(1);

    const cutWithDone = [...loadFixture("cut-off.sse"), "data: [DONE]"];
    const second = await replay([toWire(cutWithDone)]);
    expect(second.error).toBeUndefined();
    expect(textOf(second.events)).toBe("The answer is");
    expect(second.events.at(-1)?.type).toBe("finish");
  });

  it("the last event without its blank line before the close still counts", async () => {
    const lines = loadFixture("fast-answer.sse");
    const wire = utf8(`${lines.join("\n\n")}`);
    const { events, error } = await replay([wire]);
    expect(error).toBeUndefined();
    expect(events.at(-1)?.type).toBe("finish");
  });

  it("events after the answer's `finished` are not read", async () => {
    const lines = [...loadFixture("fast-answer.sse"), 'data: {"choices":[{"delta":{"content":"late"}}]}'];
    const response = responseFrom([toWire(lines)]);
    const { events } = await collect(readCompletion(response));
    expect(textOf(events)).not.toContain("late");
    expect(events.at(-1)?.type).toBe("finish");
  });
});

describe("bodies that are not a normal stream", () => {
  it("a JSON completion instead of SSE", async () => {
    const body = {
      id: "resp-json",
      choices: [{ message: { role: "assistant", content: "Whole answer" }, finish_reason: "stop" }],
      usage: { input_tokens: 5, output_tokens: 2 },
    };
    const { events, error } = await replay([utf8(JSON.stringify(body))], {
      headers: { "content-type": "application/json" },
    });
    expect(error).toBeUndefined();
    expect(events).toEqual([
      { type: "response-created", responseId: "resp-json", parentId: null },
      { type: "text-delta", text: "Whole answer" },
      { type: "usage", usage: { inputTokens: 5, outputTokens: 2, totalTokens: 7 } },
      { type: "finish", reason: "stop", responseId: "resp-json" },
    ]);
  });

  it("a JSON completion in the `data.content` shape, labelled as an event stream", async () => {
    const body = { success: true, data: { content: "Из data" } };
    const { events } = await replay([utf8(JSON.stringify(body))]);
    expect(textOf(events)).toBe("Из data");
  });

  it("JSON completions under data.choices, and the old image edit's image part", async () => {
    const nested = {
      success: true,
      data: { choices: [{ message: { role: "assistant", content: "Из choices" } }] },
    };
    expect(textOf((await replay([utf8(JSON.stringify(nested))])).events)).toBe("Из choices");

    const url = "https://cdn.qwenlm.ai/output/u1/image_edit/r1/1.png?key=abc";
    const edit = { success: true, data: { choices: [{ message: { content: [{ image: url }] } }] } };
    const { events, error } = await replay([utf8(JSON.stringify(edit))]);
    expect(error).toBeUndefined();
    expect(events.filter((event) => event.type === "image")).toEqual([{ type: "image", url }]);
    expect(events.at(-1)?.type).toBe("finish");

    const deep = {
      data: {
        message: {
          content: [
            { type: "text", text: "a" },
            { type: "text", text: "b" },
          ],
        },
      },
    };
    expect(textOf((await replay([utf8(JSON.stringify(deep))])).events)).toBe("ab");
  });

  it("a business error as HTTP 200 JSON", async () => {
    const body = {
      success: false,
      request_id: "x",
      data: { code: "Bad_Request", details: "Internal error" },
    };
    const { error } = await replay([utf8(JSON.stringify(body))], {
      headers: { "content-type": "application/json" },
    });
    expect(error?.code).toBe("upstream_internal");
    expect(error?.retryable).toBe(true);
  });

  it("RateLimited in the v1 shape carries the wait", async () => {
    const body = {
      code: "RateLimited",
      detail: "You've reached the upper limit",
      template: "{{num}}",
      num: 4,
    };
    const { error } = await replay([utf8(JSON.stringify(body))]);
    expect(error?.code).toBe("rate_limited");
    expect(error?.retryAfterMs).toBe(4 * 3_600_000);
  });

  it("a WAF page with HTTP 200 is a challenge, never an answer", async () => {
    const page =
      "<!doctypehtml><html><head><script src='//g.alicdn.com/AWSC/AWSC/awsc.js'></script></head><body>aliyun_waf_aa 安全验证</body></html>";
    const { events, error } = await replay([utf8(page)], { headers: { "content-type": "text/html" } });
    expect(events).toEqual([]);
    expect(error?.code).toBe("waf_challenge");
  });

  it("an empty 200 body is an empty response", async () => {
    const { error } = await replay([]);
    expect(error?.code).toBe("empty_response");
  });

  it("only response.created then the close is an empty response", async () => {
    const { error } = await replay([toWire(loadFixture("fast-answer.sse").slice(0, 1))]);
    expect(error?.code).toBe("empty_response");
  });

  it("a video task id from a non-stream answer", async () => {
    const body = {
      success: true,
      data: { message_id: "m1", messages: [{ extra: { wanx: { task_id: "task-42" } } }] },
    };
    const { events, error } = await replay([utf8(JSON.stringify(body))]);
    expect(error).toBeUndefined();
    expect(events).toContainEqual({ type: "video-task", taskId: "task-42" });
  });

  it("a connection dropped mid-answer is incomplete; before any answer it is a network error", async () => {
    const lines = loadFixture("cut-off.sse");
    const drop = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
    const midAnswer = await replay([toWire(lines)], { failAfter: drop });
    expect(midAnswer.error?.code).toBe("incomplete_response");

    const beforeAnything = await replay([utf8(": comment\n\n")], { failAfter: drop });
    expect(beforeAnything.error?.code).toBe("network_error");
  });

  it.each([
    [401, {}, '{"detail":"Your session has expired or the token is invalid."}', "unauthorized"],
    [429, { "retry-after": "30" }, '{"detail":"slow down"}', "rate_limited"],
    [502, { "content-type": "text/html" }, "<html><body>Bad gateway</body></html>", "upstream_error"],
    [504, { "content-type": "text/html" }, "<html>alibaba-ga</html>", "upstream_error"],
    [404, {}, '{"detail":"Not Found"}', "not_found"],
    [200, { "x-actual-status-code": "429", "retry-after": "30" }, '{"detail":"slow down"}', "rate_limited"],
  ])("HTTP %i is classified", async (status, headers, body, code) => {
    const { error } = await replay([utf8(body)], { status, headers });
    expect(error?.code).toBe(code);
    expect(error?.upstreamStatus).toBe(status);
    if (code === "rate_limited") expect(error?.retryAfterMs).toBe(30_000);
  });
});
