import type OpenAI from "openai";
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
} from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchSse, type Harness, type RunningProxy, startHarness } from "../../../testing/proxy-harness.js";

// Qwen's thinking, as OpenAI clients read it: `reasoning_content` deltas before the answer
// (the default), inline <think> tags, or nothing at all (REASONING_FORMAT).

// What the fake "thinks" (its summary thoughts) and answers.
const THOUGHT = "I will echo it back.";
const ANSWER_START = /^Turn 1 of chat [0-9a-f]{8}\. You said: «/;

type ReasoningDelta = ChatCompletionChunk.Choice.Delta & { reasoning_content?: string; reasoning?: string };

let harness: Harness;
let client: OpenAI;
let thinkTags: RunningProxy;
let reasoningOff: RunningProxy;

beforeAll(async () => {
  harness = await startHarness();
  client = harness.client();
  const tokens = harness.accounts.map((account) => account.token);
  thinkTags = await harness.startProxy({ tokens, config: { reasoningFormat: "think-tags" } });
  reasoningOff = await harness.startProxy({ tokens, config: { reasoningFormat: "off" } });
});

afterAll(async () => {
  await harness?.close();
});

async function streamDeltas(
  openai: OpenAI,
  params: Omit<ChatCompletionCreateParamsStreaming, "stream">,
): Promise<ReasoningDelta[]> {
  const stream = await openai.chat.completions.create({ ...params, stream: true });
  const deltas: ReasoningDelta[] = [];
  let finish: string | null = null;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    deltas.push(choice.delta as ReasoningDelta);
    finish = choice.finish_reason ?? finish;
  }
  expect(finish).toBe("stop");
  return deltas;
}

/** Reasoning strictly before content, and never inside it. */
function expectReasoningThenContent(deltas: ReasoningDelta[]): { reasoning: string; content: string } {
  const reasoningIndexes = deltas.flatMap((delta, index) => (delta.reasoning_content ? [index] : []));
  const contentIndexes = deltas.flatMap((delta, index) => (delta.content ? [index] : []));
  expect(reasoningIndexes.length).toBeGreaterThan(0);
  expect(contentIndexes.length).toBeGreaterThan(0);
  expect(Math.max(...reasoningIndexes)).toBeLessThan(Math.min(...contentIndexes));
  // No delta carries both.
  expect(deltas.filter((delta) => delta.reasoning_content && delta.content)).toEqual([]);
  const reasoning = deltas.map((delta) => delta.reasoning_content ?? "").join("");
  const content = deltas.map((delta) => delta.content ?? "").join("");
  expect(reasoning).toContain(THOUGHT);
  expect(content).toMatch(ANSWER_START);
  expect(content).not.toContain(THOUGHT);
  expect(content).not.toContain("<think>");
  return { reasoning, content };
}

function lastUpstreamThinking(): unknown {
  const body = harness.completionRequests().at(-1)?.body as
    | { messages?: Array<{ feature_config?: { thinking_enabled?: unknown } }> }
    | undefined;
  return body?.messages?.[0]?.feature_config?.thinking_enabled;
}

describe("reasoning_content (default format)", () => {
  it("a -thinking model streams reasoning_content deltas before the content deltas", async () => {
    const deltas = await streamDeltas(client, {
      model: "qwen3.7-plus-thinking",
      messages: [{ role: "user", content: "Think first" }],
    });
    expect(lastUpstreamThinking()).toBe(true);
    const { content } = expectReasoningThenContent(deltas);
    expect(content).toContain("You said: «Think first»");
  });

  it('reasoning_effort: "high" switches thinking on for the base model', async () => {
    const deltas = await streamDeltas(client, {
      model: "qwen3.7-plus",
      reasoning_effort: "high",
      messages: [{ role: "user", content: "Effort" }],
    });
    expect(lastUpstreamThinking()).toBe(true);
    expectReasoningThenContent(deltas);
  });

  it("enable_thinking: true as an extra body field switches thinking on", async () => {
    const params = {
      model: "qwen3.7-plus",
      enable_thinking: true,
      messages: [{ role: "user" as const, content: "Extra field" }],
    };
    const deltas = await streamDeltas(client, params);
    expect(lastUpstreamThinking()).toBe(true);
    expectReasoningThenContent(deltas);
  });

  it("without a thinking switch the base model streams no reasoning", async () => {
    const deltas = await streamDeltas(client, {
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "No thinking" }],
    });
    expect(lastUpstreamThinking()).toBe(false);
    expect(deltas.some((delta) => delta.reasoning_content || delta.reasoning)).toBe(false);
  });

  it("non-streaming: message.reasoning_content apart from content, reasoning tokens counted", async () => {
    const completion = await client.chat.completions.create({
      model: "qwen3.7-plus-thinking",
      messages: [{ role: "user", content: "Think quietly" }],
    });
    const message = completion.choices[0]!.message as OpenAI.ChatCompletionMessage & {
      reasoning_content?: string;
    };
    expect(message.reasoning_content).toContain(THOUGHT);
    expect(message.content).toMatch(ANSWER_START);
    expect(message.content).not.toContain(THOUGHT);
    expect(completion.usage!.completion_tokens_details?.reasoning_tokens).toBeGreaterThan(0);
  });
});

describe('REASONING_FORMAT "think-tags"', () => {
  it("streams the reasoning inline: content starts with <think> and closes it before the answer", async () => {
    const deltas = await streamDeltas(thinkTags.client(), {
      model: "qwen3.7-plus-thinking",
      messages: [{ role: "user", content: "Tags please" }],
    });
    expect(
      deltas.some((delta) => delta.reasoning_content !== undefined || delta.reasoning !== undefined),
    ).toBe(false);
    const content = deltas.map((delta) => delta.content ?? "").join("");
    expect(content.startsWith("<think>")).toBe(true);
    expect(content).toContain("</think>");
    const [thinking, answer] = content.split("</think>") as [string, string];
    expect(thinking).toContain(THOUGHT);
    expect(answer.trim()).toMatch(ANSWER_START);
    expect(answer).toContain("You said: «Tags please»");
  });

  it("non-streaming content has the same <think> block", async () => {
    const completion = await thinkTags.client().chat.completions.create({
      model: "qwen3.7-plus-thinking",
      messages: [{ role: "user", content: "Tags again" }],
    });
    const message = completion.choices[0]!.message as OpenAI.ChatCompletionMessage & Record<string, unknown>;
    expect(message.content!.startsWith("<think>")).toBe(true);
    expect(message.content).toContain("</think>");
    expect(message.content!.split("</think>")[1]!.trim()).toMatch(ANSWER_START);
    expect(message).not.toHaveProperty("reasoning_content");
  });
});

describe('REASONING_FORMAT "off"', () => {
  it("shows no reasoning anywhere, streaming or not", async () => {
    const sse = await fetchSse(`${reasoningOff.url}/v1/chat/completions`, {
      model: "qwen3.7-plus-thinking",
      stream: true,
      messages: [{ role: "user", content: "Hide it" }],
    });
    expect(sse.status).toBe(200);
    expect(sse.raw).not.toContain("reasoning");
    expect(sse.raw).not.toContain("<think>");
    expect(sse.raw).not.toContain(THOUGHT);
    expect(sse.data.at(-1)).toBe("[DONE]");

    const completion = await reasoningOff.client().chat.completions.create({
      model: "qwen3.7-plus-thinking",
      messages: [{ role: "user", content: "Hide it too" }],
    });
    const message = completion.choices[0]!.message as OpenAI.ChatCompletionMessage & Record<string, unknown>;
    expect(message.content).toMatch(ANSWER_START);
    expect(message.content).not.toContain("<think>");
    expect(message).not.toHaveProperty("reasoning_content");
    expect(message).not.toHaveProperty("reasoning");
  });
});
