import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "./index.js";
import { completeTurn, createChat, type Delta, deltaOf } from "./test-support.js";

const summaryThinking = { thinking_enabled: true, output_schema: "phase", thinking_format: "summary" };

describe("fake-qwen SSE stream", () => {
  let fake: FakeQwen;
  let account: ReturnType<FakeQwen["addAccount"]>;

  beforeAll(async () => {
    fake = await startFakeQwen({ chunkDelayMs: 0, seed: 7 });
    account = fake.addAccount();
  });
  afterAll(() => fake.close());

  it("opens with response.created exactly as captured and ends without [DONE]", async () => {
    const chatId = await createChat(fake, account.token);
    const { capture, responseId } = await completeTurn(fake, account.token, chatId, { text: "hi" });
    const firstLine = capture.raw.slice(0, capture.raw.indexOf("\n"));
    expect(firstLine).toMatch(
      /^data: \{"response\.created":\{"chat_id": "[0-9a-f-]{36}", "parent_id": "[0-9a-f-]{36}", "response_id":"[0-9a-f-]{36}", "response_index": "0"\}\} $/,
    );
    expect(capture.raw.startsWith(`${firstLine}\n\n`)).toBe(true);
    expect(capture.events[0]).toEqual({
      "response.created": {
        chat_id: chatId,
        parent_id: expect.any(String),
        response_id: responseId,
        response_index: "0",
      },
    });
    expect(capture.raw).not.toContain("[DONE]");
    expect(capture.raw.endsWith("\n\n")).toBe(true);
    expect(capture.error).toBeNull();

    const last = capture.events.at(-1) as Record<string, unknown>;
    expect(last).toEqual({
      choices: [{ delta: { content: "", role: "assistant", status: "finished", phase: "answer" } }],
      response_id: responseId,
    });
  });

  it("streams incremental answer deltas with cumulative usage and empty deltas", async () => {
    const chatId = await createChat(fake, account.token);
    const { capture, answer, responseId } = await completeTurn(fake, account.token, chatId, {
      text: "Hello мир",
    });
    const typing = capture.events.slice(1, -1);
    expect(typing.length).toBeGreaterThan(5);
    let previousOutput = 0;
    for (const event of typing) {
      expect(event.response_id).toBe(responseId);
      expect(typeof event.timestamp).toBe("number");
      expect(deltaOf(event)).toMatchObject({ role: "assistant", phase: "answer", status: "typing" });
      const usage = event.usage as Record<string, number>;
      expect(usage.input_tokens).toBeGreaterThan(1000);
      expect(usage.total_tokens).toBe((usage.input_tokens ?? 0) + (usage.output_tokens ?? 0));
      expect(usage.characters).toBe(0);
      expect(usage.output_tokens).toBeGreaterThanOrEqual(previousOutput);
      previousOutput = usage.output_tokens ?? 0;
    }
    expect(typing.some((event) => deltaOf(event)?.content === "")).toBe(true);
    expect(answer).toBe(`Turn 1 of chat ${chatId.slice(0, 8)}. You said: «Hello мир». Привет 👋 你好`);
    // Python json.dumps spacing on content events.
    expect(capture.raw).toContain('{"choices": [{"delta": {"role": "assistant", "content": ');
  });

  it("delivers bytes in awkward pieces: mid-line and mid-character", async () => {
    const chatId = await createChat(fake, account.token);
    const { capture } = await completeTurn(fake, account.token, chatId, { text: "Привет 你好 🎉" });
    expect(capture.chunks.length).toBeGreaterThan(capture.events.length);
    let splitInsideCharacter = false;
    let splitInsideLine = false;
    capture.chunks.forEach((chunk, index) => {
      const next = capture.chunks[index + 1];
      if (!next) return;
      // A continuation byte (10xxxxxx) at the start of the next read means a character was cut.
      if (((next[0] ?? 0) & 0xc0) === 0x80) splitInsideCharacter = true;
      if (chunk.at(-1) !== 0x0a) splitInsideLine = true;
    });
    expect(splitInsideCharacter).toBe(true);
    expect(splitInsideLine).toBe(true);
  });

  it("threads turns through parent_id and reports the depth", async () => {
    const chatId = await createChat(fake, account.token);
    const prefix = `of chat ${chatId.slice(0, 8)}`;
    const first = await completeTurn(fake, account.token, chatId, { text: "one" });
    expect(first.answer).toContain(`Turn 1 ${prefix}. You said: «one»`);
    const second = await completeTurn(fake, account.token, chatId, {
      text: "two",
      parentId: first.responseId,
    });
    expect(second.answer).toContain(`Turn 2 ${prefix}. You said: «two»`);
    const third = await completeTurn(fake, account.token, chatId, {
      text: "three",
      parentId: second.responseId,
    });
    expect(third.answer).toContain(`Turn 3 ${prefix}`);
    const branch = await completeTurn(fake, account.token, chatId, {
      text: "again",
      parentId: first.responseId,
    });
    expect(branch.answer).toContain(`Turn 2 ${prefix}. You said: «again»`);
    const restart = await completeTurn(fake, account.token, chatId, { text: "fresh", parentId: null });
    expect(restart.answer).toContain(`Turn 1 ${prefix}`);
  });

  it("echoes text parts and counts attached images", async () => {
    const chatId = await createChat(fake, account.token);
    const { answer } = await completeTurn(fake, account.token, chatId, {
      content: [
        { type: "text", text: "Describe" },
        { type: "image", image: "https://cdn.example/cat.png" },
        { type: "text", text: "briefly" },
      ],
    });
    expect(answer).toContain("You said: «Describe\nbriefly»");
    expect(answer).toContain("Attachments: 0 file(s), 1 image part(s).");
  });

  it("sends cumulative thinking_summary snapshots before the answer", async () => {
    const chatId = await createChat(fake, account.token);
    const { capture } = await completeTurn(fake, account.token, chatId, {
      text: "think",
      featureConfig: summaryThinking,
    });
    const deltas = capture.events.slice(1).map(deltaOf) as Delta[];
    const thinking = deltas.filter(
      (delta) => delta.phase === "thinking_summary" && delta.status === "typing",
    );
    expect(thinking.length).toBeGreaterThan(3);
    let previousTitles: string[] = [];
    let previousThoughts: string[] = [];
    let lastStringGrew = false;
    for (const delta of thinking) {
      expect(delta.content).toBe("");
      const extra = delta.extra as {
        summary_title: { content: string[] };
        summary_thought: { content: string[] };
      };
      const titles = extra.summary_title.content;
      const thoughts = extra.summary_thought.content;
      expect(titles.slice(0, previousTitles.length)).toEqual(previousTitles);
      expect(thoughts.length).toBeGreaterThanOrEqual(previousThoughts.length);
      previousThoughts.forEach((thought, index) => {
        expect((thoughts[index] ?? "").startsWith(thought)).toBe(true);
        if (index === previousThoughts.length - 1 && thoughts[index] !== thought) lastStringGrew = true;
      });
      previousTitles = titles;
      previousThoughts = thoughts;
    }
    expect(lastStringGrew).toBe(true);
    expect(previousThoughts.length).toBeGreaterThan(1);

    const thinkingEnd = capture.events.findIndex(
      (event) => deltaOf(event)?.phase === "thinking_summary" && deltaOf(event)?.status === "finished",
    );
    const firstAnswer = capture.events.findIndex((event) => deltaOf(event)?.phase === "answer");
    expect(thinkingEnd).toBeGreaterThan(0);
    expect(firstAnswer).toBeGreaterThan(thinkingEnd);
    expect(capture.events[thinkingEnd]).not.toHaveProperty("usage");
    const lastThinking = capture.events[thinkingEnd - 1]?.usage as {
      output_tokens_details: { reasoning_tokens: number };
    };
    expect(lastThinking.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
  });

  it("uses incremental phase think deltas for the detail thinking format", async () => {
    const chatId = await createChat(fake, account.token);
    const { capture } = await completeTurn(fake, account.token, chatId, {
      text: "think hard",
      featureConfig: { ...summaryThinking, thinking_format: "detail" },
    });
    const deltas = capture.events.slice(1).map(deltaOf) as Delta[];
    const reasoning = deltas
      .filter((delta) => delta.phase === "think" && delta.status === "typing")
      .map((delta) => delta.content);
    expect(reasoning.length).toBeGreaterThan(3);
    expect(reasoning.join("")).toContain("turn 1");
    expect(deltas.some((delta) => delta.phase === "thinking_summary")).toBe(false);
  });

  it("omits every phase key and all thinking without output_schema phase", async () => {
    const chatId = await createChat(fake, account.token);
    const { capture, answer } = await completeTurn(fake, account.token, chatId, {
      text: "no phases",
      featureConfig: { thinking_enabled: true, thinking_format: "summary", auto_search: true },
    });
    expect(capture.raw).not.toContain('"phase"');
    expect(capture.raw).not.toContain("summary_thought");
    expect(answer).toContain("You said: «no phases»");
    const last = capture.events.at(-1) as Record<string, unknown>;
    expect(deltaOf(last)).toEqual({ content: "", role: "assistant", status: "finished" });
  });

  it("emits cumulative web_search results and cites them", async () => {
    const chatId = await createChat(fake, account.token);
    const { capture, answer } = await completeTurn(fake, account.token, chatId, {
      text: "news",
      chatType: "search",
    });
    const searches = capture.events
      .map(deltaOf)
      .filter((delta): delta is Delta => delta?.phase === "web_search" && delta.status === "typing");
    const infoOf = (delta: Delta | undefined) =>
      (delta?.extra?.web_search_info ?? []) as Array<Record<string, string>>;
    const lengths = searches.map((delta) => infoOf(delta).length);
    expect(lengths).toEqual([1, 2]);
    const first = infoOf(searches[1])[0];
    expect(Object.keys(first ?? {}).sort()).toEqual(["date", "hostname", "snippet", "title", "url"]);
    expect(answer).toContain("[[1]]");

    const auto = await completeTurn(fake, account.token, chatId, {
      text: "auto",
      featureConfig: { output_schema: "phase", auto_search: true },
    });
    expect(auto.capture.raw).toContain("web_search_info");
  });
});
