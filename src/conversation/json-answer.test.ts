import { describe, expect, it } from "vitest";
import type { QwenEvent } from "../events.js";
import { jsonInstruction, stripJsonFences } from "./json-answer.js";

async function strip(pieces: string[]): Promise<{ text: string; events: QwenEvent[] }> {
  async function* source(): AsyncGenerator<QwenEvent> {
    yield { type: "response-created", responseId: "r" };
    for (const text of pieces) yield { type: "text-delta", text };
    yield { type: "finish", reason: "stop" };
  }
  const events: QwenEvent[] = [];
  for await (const event of stripJsonFences(source())) events.push(event);
  const text = events.map((event) => (event.type === "text-delta" ? event.text : "")).join("");
  return { text, events };
}

/** Every way to cut `text` into two pieces, and into single characters. */
function splits(text: string): string[][] {
  const all = [[text], [...text]];
  for (let index = 1; index < text.length; index++) all.push([text.slice(0, index), text.slice(index)]);
  return all;
}

describe("taking a Markdown fence off a JSON answer", () => {
  it("removes a ```json fence however the stream cuts it", async () => {
    for (const pieces of splits('```json\n{"a": [1, 2]}\n```')) {
      expect((await strip(pieces)).text, JSON.stringify(pieces)).toBe('{"a": [1, 2]}');
    }
  });

  it("removes a bare ``` fence, with spaces and a trailing newline around it", async () => {
    expect((await strip(["  ```\n", '{"ok": true}', "\n```\n"])).text).toBe('{"ok": true}');
  });

  it("leaves an answer without a fence exactly as it was, in every split", async () => {
    for (const pieces of splits('{"code": "`x`"}')) {
      expect((await strip(pieces)).text).toBe('{"code": "`x`"}');
    }
    expect((await strip(["`inline`"])).text).toBe("`inline`");
  });

  it("keeps a fence inside the JSON (in a string) and the events around the text", async () => {
    const { text, events } = await strip(['{"md": "```js\\ncode\\n```"}']);
    expect(text).toBe('{"md": "```js\\ncode\\n```"}');
    expect(events[0]?.type).toBe("response-created");
    expect(events.at(-1)?.type).toBe("finish");
  });
});

describe("the instruction sent upstream", () => {
  it("asks for bare JSON, and names the schema when there is one", () => {
    expect(jsonInstruction({ type: "json_object" })).toContain("JSON object");
    const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
    const told = jsonInstruction({ type: "json_schema", name: "place", schema });
    expect(told).toContain('"place"');
    expect(told).toContain(JSON.stringify(schema));
    expect(told).toContain("no code fences");
  });
});
