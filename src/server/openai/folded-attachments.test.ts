import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Harness,
  startHarness,
  upstreamMessages,
  upstreamMessageText,
} from "../../../testing/proxy-harness.js";

// A conversation the proxy cannot continue upstream (it never saw it, or the account changed)
// is folded into one message. The latest images of that history go along with it, so "what
// is in the picture?" still has a picture to look at.

const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==",
  "base64",
);
const pngDataUri = `data:image/png;base64,${PNG.toString("base64")}`;

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness?.close();
});

function lastUpstream() {
  const entry = harness.completionRequests().at(-1);
  if (!entry) throw new Error("no upstream completion");
  const [message] = upstreamMessages(entry);
  return { text: upstreamMessageText(entry), files: (message?.files as unknown[] | undefined) ?? [] };
}

describe("a folded history with images", () => {
  it("carries the earlier image into the new upstream chat, as a file", async () => {
    const completion = await harness.client().chat.completions.create({
      model: "qwen3.7-plus",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Here is my cat" },
            { type: "image_url", image_url: { url: pngDataUri } },
          ],
        },
        { role: "assistant", content: "A fine cat." },
        { role: "user", content: "What colour is it?" },
      ],
    });
    expect(completion.choices[0]?.message.content).toContain("What colour is it?");
    const upstream = lastUpstream();
    expect(upstream.text).toContain("[Conversation so far]");
    expect(upstream.text).toContain("Here is my cat");
    expect(upstream.files).toHaveLength(1);
    expect(upstream.files[0]).toMatchObject({ type: "image", file_type: "image/png" });
  });

  it("carries at most the latest four, with the new message's own files, each file once", async () => {
    // Distinct images: the same PNG with a different trailing byte each.
    const image = (index: number) => ({
      type: "image_url" as const,
      image_url: {
        url: `data:image/png;base64,${Buffer.concat([PNG, Buffer.from([index])]).toString("base64")}`,
      },
    });
    const history = Array.from({ length: 6 }, (_, index) => [
      { role: "user" as const, content: [{ type: "text" as const, text: `picture ${index}` }, image(index)] },
      { role: "assistant" as const, content: `seen ${index}` },
    ]).flat();
    await harness.client().chat.completions.create({
      model: "qwen3.7-plus",
      messages: [...history, { role: "user", content: [{ type: "text", text: "and this one?" }, image(9)] }],
    });
    expect(lastUpstream().files).toHaveLength(5);

    // The same image sent with every turn, as chat front-ends do, is attached once.
    const same = image(42);
    await harness.client().chat.completions.create({
      model: "qwen3.7-plus",
      messages: [
        { role: "user", content: [{ type: "text", text: "look" }, same] },
        { role: "assistant", content: "looked" },
        { role: "user", content: [{ type: "text", text: "again" }, same] },
      ],
    });
    expect(lastUpstream().files).toHaveLength(1);
  });

  it("a thread that continues upstream sends no earlier file again", async () => {
    const client = harness.client();
    const first = [
      {
        role: "user" as const,
        content: [
          { type: "text" as const, text: "Remember this picture" },
          { type: "image_url" as const, image_url: { url: pngDataUri } },
        ],
      },
    ];
    const answer = await client.chat.completions.create({ model: "qwen3.7-plus", messages: first });
    expect(lastUpstream().files).toHaveLength(1);
    await client.chat.completions.create({
      model: "qwen3.7-plus",
      messages: [
        ...first,
        { role: "assistant", content: answer.choices[0]?.message.content ?? "" },
        { role: "user", content: "Still there?" },
      ],
    });
    const continued = lastUpstream();
    expect(continued.text).toBe("Still there?");
    expect(continued.files).toHaveLength(0);
  });
});
