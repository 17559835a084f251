import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fetchSse,
  type Harness,
  startHarness,
  upstreamBody,
  upstreamMessages,
  upstreamMessageText,
} from "../../../testing/proxy-harness.js";

// The OpenAI SDK (the real `openai` package) against the proxy over HTTP, with the fake
// chat.qwen.ai behind it: what a user of the SDK sees for completions, streams and models.

const REPLY = /^Turn (\d+) of chat ([0-9a-f]{8})\. You said: «([\s\S]*)»\. Привет 👋 你好/;

let harness: Harness;
let client: OpenAI;

beforeAll(async () => {
  harness = await startHarness();
  client = harness.client();
});

afterAll(async () => {
  await harness?.close();
});

function lastUpstream() {
  const entry = harness.completionRequests().at(-1);
  if (!entry) throw new Error("no upstream completion request was made");
  return entry;
}

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

function contentOf(chunks: ChatCompletionChunk[]): string {
  return chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
}

describe("chat.completions.create without streaming", () => {
  it("returns the answer with finish_reason stop, a chatcmpl- id and upstream's usage", async () => {
    const { data: completion, response } = await client.chat.completions
      .create({ model: "qwen3.7-plus", messages: [{ role: "user", content: "Hello there" }] })
      .withResponse();

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe("qwen3.7-plus");
    expect(Number.isInteger(completion.created)).toBe(true);
    expect(Math.abs(completion.created - Date.now() / 1000)).toBeLessThan(120);

    expect(completion.choices).toHaveLength(1);
    const choice = completion.choices[0]!;
    expect(choice.index).toBe(0);
    expect(choice.finish_reason).toBe("stop");
    expect(choice.message.role).toBe("assistant");
    expect(choice.message.content).toMatch(REPLY);
    expect(choice.message.content).toContain("Turn 1 of chat");
    expect(choice.message.content).toContain("You said: «Hello there»");

    // Qwen's hidden system prompt makes every prompt cost about a thousand tokens: the
    // numbers come from upstream, not from an estimate.
    const usage = completion.usage!;
    expect(usage.prompt_tokens).toBeGreaterThan(1000);
    expect(usage.completion_tokens).toBeGreaterThan(0);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(usage).not.toHaveProperty("estimated");
  });

  it("sends exactly one upstream message holding the user's text", async () => {
    await client.chat.completions.create({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "Only this" }],
    });
    const messages = upstreamMessages(lastUpstream());
    expect(messages).toHaveLength(1);
    expect(messages[0]!.role).toBe("user");
    expect(messages[0]!.content).toBe("Only this");
  });
});

describe("streaming", () => {
  it("create({stream:true}) yields chunks that add up to the answer", async () => {
    const stream = await client.chat.completions.create({
      model: "qwen3.7-plus",
      stream: true,
      messages: [{ role: "user", content: "Stream me" }],
    });
    const chunks = await collect(stream);

    expect(chunks.length).toBeGreaterThan(2);
    const first = chunks[0]!;
    expect(first.choices[0]!.delta.role).toBe("assistant");
    expect(contentOf(chunks)).toMatch(REPLY);
    expect(contentOf(chunks)).toContain("You said: «Stream me»");

    const ids = new Set(chunks.map((chunk) => chunk.id));
    expect(ids.size).toBe(1);
    expect(first.id).toMatch(/^chatcmpl-/);
    expect(new Set(chunks.map((chunk) => chunk.created)).size).toBe(1);
    for (const chunk of chunks) {
      expect(chunk.object).toBe("chat.completion.chunk");
      expect(chunk.model).toBe("qwen3.7-plus");
      // Without include_usage there is no usage chunk.
      expect(chunk.choices).toHaveLength(1);
      expect(chunk.usage ?? null).toBeNull();
    }
    const finishReasons = chunks.map((chunk) => chunk.choices[0]!.finish_reason);
    expect(finishReasons.at(-1)).toBe("stop");
    expect(finishReasons.slice(0, -1).every((reason) => reason === null)).toBe(true);
  });

  it("chat.completions.stream() and finalChatCompletion() assemble the whole message", async () => {
    const stream = client.chat.completions.stream({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "Helper please" }],
    });
    const pieces: string[] = [];
    stream.on("content", (delta) => pieces.push(delta));
    // Throws "missing role" / "missing finish_reason" when the stream lacks either.
    const final = await stream.finalChatCompletion();

    expect(final.choices[0]!.finish_reason).toBe("stop");
    expect(final.choices[0]!.message.role).toBe("assistant");
    expect(final.choices[0]!.message.content).toMatch(REPLY);
    expect(final.choices[0]!.message.content).toContain("You said: «Helper please»");
    expect(pieces.join("")).toBe(final.choices[0]!.message.content);
    expect(await stream.finalContent()).toBe(final.choices[0]!.message.content);
  });

  it("stream_options.include_usage adds exactly one usage chunk, with no choices, at the end", async () => {
    const stream = await client.chat.completions.create({
      model: "qwen3.7-plus",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Count my tokens" }],
    });
    const chunks = await collect(stream);

    const usageChunks = chunks.filter((chunk) => chunk.choices.length === 0);
    expect(usageChunks).toHaveLength(1);
    expect(chunks.at(-1)).toBe(usageChunks[0]);
    const usage = usageChunks[0]!.usage!;
    expect(usage.prompt_tokens).toBeGreaterThan(1000);
    expect(usage.completion_tokens).toBeGreaterThan(0);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage ?? null).toBeNull();
    // The usage chunk belongs to the same completion.
    expect(usageChunks[0]!.id).toBe(chunks[0]!.id);
    expect(contentOf(chunks)).toContain("You said: «Count my tokens»");
  });

  it("on the wire: SSE headers, role first, finish_reason last, [DONE] at the end, one id", async () => {
    const sse = await fetchSse(`${harness.url}/v1/chat/completions`, {
      model: "qwen3.7-plus",
      stream: true,
      messages: [{ role: "user", content: "Raw wire" }],
    });

    expect(sse.status).toBe(200);
    expect(sse.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(sse.headers.get("cache-control")).toBe("no-cache");
    expect(sse.headers.get("x-chat-id")).toMatch(/^[0-9a-f-]{36}$/);

    // Every event is one `data:` line (or a comment) followed by a blank line; no `event:` lines.
    for (const block of sse.raw.split("\n\n").filter((text) => text !== "")) {
      expect(block).toMatch(/^(data: [^\n]+|: [^\n]*)$/);
    }
    expect(sse.raw.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(sse.data.at(-1)).toBe("[DONE]");
    expect(sse.data.filter((item) => item === "[DONE]")).toHaveLength(1);

    const chunks = sse.data.filter((item) => item !== "[DONE]") as unknown as ChatCompletionChunk[];
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    expect(chunks.slice(1).every((chunk) => chunk.choices[0]!.delta.role === undefined)).toBe(true);
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks[0]!.id).toMatch(/^chatcmpl-/);
    for (const chunk of chunks) {
      expect(chunk.object).toBe("chat.completion.chunk");
      expect(chunk.choices[0]).toHaveProperty("logprobs", null);
    }
    const last = chunks.at(-1)!;
    expect(last.choices[0]!.finish_reason).toBe("stop");
    expect(last.choices[0]!.delta).toEqual({});
    expect(contentOf(chunks)).toContain("You said: «Raw wire»");
  });
});

describe("models", () => {
  it("models.list() paginates over every model, with the suffix variants", async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      ids.push(model.id);
      expect(model.object).toBe("model");
      expect(typeof model.owned_by).toBe("string");
      expect(Number.isInteger(model.created)).toBe(true);
      // Seconds, not milliseconds.
      expect(model.created).toBeLessThan(1e11);
    }
    expect(ids).toContain("qwen3.7-plus");
    expect(ids).toContain("qwen3.7-plus-thinking");
    expect(ids).toContain("qwen3.7-plus-search");
    expect(ids).toContain("qwen3-coder");
    // A model without thinking gets no -thinking variant; a retired model is not listed.
    expect(ids).not.toContain("qwen3-coder-thinking");
    expect(ids).not.toContain("qwen2.5-max");
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("models.retrieve() returns one model, including a variant name", async () => {
    const model = await client.models.retrieve("qwen3.7-plus");
    expect(model).toMatchObject({ id: "qwen3.7-plus", object: "model" });
    expect(typeof model.owned_by).toBe("string");
    const variant = await client.models.retrieve("qwen3.7-plus-thinking");
    expect(variant.id).toBe("qwen3.7-plus-thinking");
  });

  it("an alias such as qwen-max-latest answers, echoing the requested name", async () => {
    const completion = await client.chat.completions.create({
      model: "qwen-max-latest",
      messages: [{ role: "user", content: "Alias" }],
    });
    expect(completion.model).toBe("qwen-max-latest");
    expect(completion.choices[0]!.message.content).toContain("You said: «Alias»");
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    // Upstream gets a real model id of its catalogue.
    expect(["qwen3.8-max", "qwen3.7-max"]).toContain(upstreamBody(lastUpstream()).model);
  });

  it("an unknown model is a NotFoundError with code model_not_found", async () => {
    const error = await client.chat.completions
      .create({ model: "no-such-model", messages: [{ role: "user", content: "Hi" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    const apiError = error as InstanceType<typeof OpenAI.NotFoundError>;
    expect(apiError.status).toBe(404);
    expect(apiError.code).toBe("model_not_found");
    expect(apiError.type).toBe("invalid_request_error");

    const retrieved = await client.models.retrieve("no-such-model").catch((caught: unknown) => caught);
    expect(retrieved).toBeInstanceOf(OpenAI.NotFoundError);
    expect((retrieved as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
  });
});

describe("system messages", () => {
  it("reach upstream inside the single message, ahead of the user's text", async () => {
    const completion = await client.chat.completions.create({
      model: "qwen3.7-plus",
      messages: [
        { role: "system", content: "Answer like a pirate." },
        { role: "developer", content: "Never mention treasure." },
        { role: "user", content: "Ahoy" },
      ],
    });
    const messages = upstreamMessages(lastUpstream());
    expect(messages).toHaveLength(1);
    const text = upstreamMessageText(lastUpstream());
    expect(text).toContain("Answer like a pirate.");
    expect(text).toContain("Never mention treasure.");
    expect(text).toContain("Ahoy");
    expect(text.indexOf("Answer like a pirate.")).toBeLessThan(text.indexOf("Ahoy"));
    // The fake echoes what it received: the model saw the instructions.
    expect(completion.choices[0]!.message.content).toContain("Answer like a pirate.");
    expect(completion.choices[0]!.message.content).toMatch(/^Turn 1 /);
  });
});

describe("images", () => {
  it("an image URL Qwen serves itself reaches upstream as an image part of the one message", async () => {
    const image = `${harness.fake.url}/output/user/t2i/response/1.png?key=k`;
    const completion = await client.chat.completions.create({
      model: "qwen3.7-plus",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is in this picture?" },
            { type: "image_url", image_url: { url: image, detail: "low" } },
          ],
        },
      ],
    });
    const messages = upstreamMessages(lastUpstream());
    expect(messages).toHaveLength(1);
    const content = messages[0]!.content as Array<Record<string, unknown>>;
    expect(Array.isArray(content)).toBe(true);
    expect(content).toContainEqual({ type: "image", image });
    expect(upstreamMessageText(lastUpstream())).toContain("What is in this picture?");
    expect(completion.choices[0]!.message.content).toContain("1 image part(s)");
  });
});

describe("every upstream request", () => {
  it("carries exactly one message", () => {
    const requests = harness.completionRequests();
    expect(requests.length).toBeGreaterThan(5);
    for (const entry of requests) expect(upstreamMessages(entry)).toHaveLength(1);
  });
});
