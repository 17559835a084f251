import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness, upstreamMessageText } from "../../../testing/proxy-harness.js";

// response_format: Qwen's web API has no JSON mode, so the model is told in words, and a
// Markdown fence around its answer is taken off, so clients' JSON.parse works.

let harness: Harness;
let client: OpenAI;

beforeAll(async () => {
  harness = await startHarness();
  client = harness.client();
});

afterEach(() => harness.fake.clearScenario());

afterAll(async () => {
  await harness?.close();
});

const schema = {
  type: "object",
  properties: { city: { type: "string" }, population: { type: "integer" } },
  required: ["city", "population"],
  additionalProperties: false,
};
const fenced = '```json\n{"city": "Hangzhou", "population": 12200000}\n```';

describe("response_format", () => {
  it("json_schema: the schema reaches the model, and the fenced answer comes back as bare JSON", async () => {
    harness.fake.setScenario({ kind: "answer", text: fenced }, { times: 1 });
    const completion = await client.chat.completions.create({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "Biggest city of Zhejiang?" }],
      response_format: { type: "json_schema", json_schema: { name: "city", schema, strict: true } },
    });
    const content = completion.choices[0]?.message.content ?? "";
    expect(JSON.parse(content)).toEqual({ city: "Hangzhou", population: 12200000 });
    const sent = upstreamMessageText(harness.completionRequests().at(-1)!);
    expect(sent).toContain("Biggest city of Zhejiang?");
    expect(sent).toContain("[Answer format]");
    expect(sent).toContain(JSON.stringify(schema));
    // The stored chat keeps the user's words and the bare answer.
    const chatId = (completion as unknown as { chat_id: string }).chat_id;
    const chat = (await (await fetch(`${harness.url}/api/chats/${chatId}`)).json()) as {
      messages: Array<{ role: string; content: string }>;
    };
    expect(chat.messages.map((message) => message.content)).toEqual(["Biggest city of Zhejiang?", content]);
  });

  it("json_object, streamed: the chunks add up to parseable JSON", async () => {
    harness.fake.setScenario({ kind: "answer", text: fenced }, { times: 1 });
    const stream = await client.chat.completions.create({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "As JSON, please" }],
      response_format: { type: "json_object" },
      stream: true,
    });
    let content = "";
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
    expect(JSON.parse(content)).toEqual({ city: "Hangzhou", population: 12200000 });
  });

  it("the SDK's parse() helper gets the parsed object", async () => {
    harness.fake.setScenario({ kind: "answer", text: fenced }, { times: 1 });
    const parsed = await client.chat.completions.parse({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "Parse me" }],
      response_format: { type: "json_schema", json_schema: { name: "city", schema, strict: true } },
    });
    expect(parsed.choices[0]?.message.parsed).toEqual({ city: "Hangzhou", population: 12200000 });
  });

  it("text, or no response_format, changes nothing; an unknown type is a 400 naming it", async () => {
    const plain = await client.chat.completions.create({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "just text" }],
      response_format: { type: "text" },
    });
    expect(plain.choices[0]?.message.content).toContain("You said: «just text»");
    expect(upstreamMessageText(harness.completionRequests().at(-1)!)).toBe("just text");
    const error = await client.chat.completions
      .create({
        model: "qwen3.7-plus",
        messages: [{ role: "user", content: "x" }],
        response_format: { type: "yaml" } as never,
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toMatch(/^response_format/);
  });
});
