import OpenAI from "openai";
import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Harness,
  startHarness,
  upstreamBody,
  upstreamMessages,
  upstreamMessageText,
} from "../../../testing/proxy-harness.js";

// Multi-turn conversations through the OpenAI SDK. The client sends the whole history each
// time; upstream takes one message per request, so the proxy must either continue its
// upstream thread (parent_id, only the new message) or fold the history into one message.
// The fake says which: "Turn N" is the depth of the upstream thread.

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

function parseReply(content: string | null | undefined) {
  const match = REPLY.exec(content ?? "");
  if (!match) throw new Error(`not a reply of the fake: ${content}`);
  return { turn: Number(match[1]), upstreamChat: match[2]!, said: match[3]! };
}

/** parent_id of the upstream request, on the body and on the message. */
function upstreamParent(entry = lastUpstream()) {
  const message = upstreamMessages(entry)[0]!;
  return { body: upstreamBody(entry).parent_id, message: message.parent_id ?? message.parentId };
}

async function ask(messages: ChatCompletionMessageParam[], extra: Record<string, unknown> = {}) {
  const params = { model: "qwen3.7-plus", messages, ...extra } as ChatCompletionCreateParamsNonStreaming;
  const { data, response } = await client.chat.completions.create(params).withResponse();
  const content = data.choices[0]!.message.content ?? "";
  return { content, reply: parseReply(content), chatId: response.headers.get("x-chat-id"), data };
}

describe("OpenAI-style history", () => {
  it("continues the upstream thread when the client sends back the unchanged history", async () => {
    const first = await ask([{ role: "user", content: "My name is Ada" }]);
    expect(first.reply.turn).toBe(1);
    expect(upstreamParent().body).toBeNull();
    expect(first.chatId).toMatch(/^[0-9a-f-]{36}$/);

    const second = await ask([
      { role: "user", content: "My name is Ada" },
      { role: "assistant", content: first.content },
      { role: "user", content: "What is my name?" },
    ]);
    expect(second.reply.turn).toBe(2);
    expect(second.reply.upstreamChat).toBe(first.reply.upstreamChat);
    // Only the new message goes upstream, as a child of the previous answer.
    const parent = upstreamParent();
    expect(parent.body).toEqual(expect.any(String));
    expect(parent.message).toBe(parent.body);
    expect(upstreamMessages(lastUpstream())).toHaveLength(1);
    expect(upstreamMessageText(lastUpstream())).toBe("What is my name?");
    expect(second.chatId).toBe(first.chatId);

    const third = await ask([
      { role: "user", content: "My name is Ada" },
      { role: "assistant", content: first.content },
      { role: "user", content: "What is my name?" },
      { role: "assistant", content: second.content },
      { role: "user", content: "And again?" },
    ]);
    expect(third.reply.turn).toBe(3);
    expect(third.reply.upstreamChat).toBe(first.reply.upstreamChat);
    expect(upstreamMessageText(lastUpstream())).toBe("And again?");
    expect(third.chatId).toBe(first.chatId);
  });

  it("keeps the system prompt out of continued turns but in the thread's first message", async () => {
    const system = { role: "system" as const, content: "Speak softly." };
    const first = await ask([system, { role: "user", content: "Hello quietly" }]);
    expect(upstreamMessageText(lastUpstream())).toContain("Speak softly.");
    const second = await ask([
      system,
      { role: "user", content: "Hello quietly" },
      { role: "assistant", content: first.content },
      { role: "user", content: "Still there?" },
    ]);
    expect(second.reply.turn).toBe(2);
    expect(second.reply.upstreamChat).toBe(first.reply.upstreamChat);
    expect(upstreamMessageText(lastUpstream())).toBe("Still there?");
  });

  it("starts a new upstream chat with the history folded in when the history was edited", async () => {
    const original = await ask([{ role: "user", content: "Remember the colour blue" }]);
    const edited = await ask([
      { role: "user", content: "Remember the colour blue" },
      { role: "assistant", content: "I will remember the colour green." },
      { role: "user", content: "Which colour?" },
    ]);

    expect(edited.reply.turn).toBe(1);
    expect(edited.reply.upstreamChat).not.toBe(original.reply.upstreamChat);
    expect(upstreamParent().body).toBeNull();
    expect(upstreamMessages(lastUpstream())).toHaveLength(1);
    const text = upstreamMessageText(lastUpstream());
    expect(text).toContain("Remember the colour blue");
    expect(text).toContain("I will remember the colour green.");
    expect(text).toContain("Which colour?");
    // The earlier turns come before the new message.
    expect(text.indexOf("I will remember the colour green.")).toBeLessThan(text.lastIndexOf("Which colour?"));
    expect(edited.chatId).not.toBe(original.chatId);
  });

  it("folds a history the proxy never saw into the first upstream message", async () => {
    const answer = await ask([
      { role: "user", content: "Earlier question from another tool" },
      { role: "assistant", content: "Earlier answer from another tool" },
      { role: "user", content: "Follow-up" },
    ]);
    expect(answer.reply.turn).toBe(1);
    const text = upstreamMessageText(lastUpstream());
    expect(text).toContain("Earlier question from another tool");
    expect(text).toContain("Earlier answer from another tool");
    expect(text).toContain("Follow-up");
  });

  it("continues after a streamed answer that the client assembled itself", async () => {
    const stream = client.chat.completions.stream({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "Streamed start" }],
    });
    const firstContent = await stream.finalContent();
    const first = parseReply(firstContent);
    expect(first.turn).toBe(1);

    const streamed = await client.chat.completions.create({
      model: "qwen3.7-plus",
      stream: true,
      messages: [
        { role: "user", content: "Streamed start" },
        { role: "assistant", content: firstContent },
        { role: "user", content: "Streamed follow-up" },
      ],
    });
    let content = "";
    for await (const chunk of streamed) content += chunk.choices[0]?.delta.content ?? "";
    const second = parseReply(content);
    expect(second.turn).toBe(2);
    expect(second.upstreamChat).toBe(first.upstreamChat);
    expect(upstreamMessageText(lastUpstream())).toBe("Streamed follow-up");
  });

  it("continues when the client echoes a think-tags answer back with its <think> block", async () => {
    const tagged = await harness.startProxy({
      tokens: harness.accounts.map((account) => account.token),
      config: { reasoningFormat: "think-tags" },
    });
    const taggedClient = tagged.client();
    const first = await taggedClient.chat.completions.create({
      model: "qwen3.7-plus-thinking",
      messages: [{ role: "user", content: "Think and remember" }],
    });
    const firstContent = first.choices[0]!.message.content!;
    expect(firstContent.startsWith("<think>")).toBe(true);
    const second = await taggedClient.chat.completions.create({
      model: "qwen3.7-plus-thinking",
      messages: [
        { role: "user", content: "Think and remember" },
        { role: "assistant", content: firstContent },
        { role: "user", content: "What did I say?" },
      ],
    });
    const answer = second.choices[0]!.message.content!.split("</think>")[1]!.trim();
    expect(parseReply(answer).turn).toBe(2);
  });
});

describe("local chat id", () => {
  it("x-chat-id names the stored chat, which holds the exchange", async () => {
    const { chatId, content } = await ask([{ role: "user", content: "Store me" }]);
    const chat = await harness.server.context.store.getChat(chatId!);
    expect(chat).toBeDefined();
    expect(chat!.messages.map((message) => [message.role, message.status])).toEqual([
      ["user", "complete"],
      ["assistant", "complete"],
    ]);
    expect(chat!.messages[0]!.content).toBe("Store me");
    expect(chat!.messages[1]!.content).toBe(content);
  });

  it("x-chat-id is also sent on streaming responses (asResponse)", async () => {
    const response = await client.chat.completions
      .create({ model: "qwen3.7-plus", stream: true, messages: [{ role: "user", content: "Header?" }] })
      .asResponse();
    expect(response.status).toBe(200);
    expect(response.headers.get("x-chat-id")).toMatch(/^[0-9a-f-]{36}$/);
    await response.text();
  });

  it("chat_id in the body, with the full history, continues that chat", async () => {
    const first = await ask([{ role: "user", content: "Chat id, full history" }]);
    const second = await ask(
      [
        { role: "user", content: "Chat id, full history" },
        { role: "assistant", content: first.content },
        { role: "user", content: "Next" },
      ],
      { chat_id: first.chatId },
    );
    expect(second.chatId).toBe(first.chatId);
    expect(second.reply.turn).toBe(2);
    expect(second.reply.upstreamChat).toBe(first.reply.upstreamChat);
    expect(upstreamMessageText(lastUpstream())).toBe("Next");
  });

  it("chat_id in the body, with only the new message, continues that chat with its context", async () => {
    const first = await ask([{ role: "user", content: "Chat id, only the new message" }]);
    const second = await ask([{ role: "user", content: "Do you remember?" }], { chat_id: first.chatId });

    expect(second.chatId).toBe(first.chatId);
    // The stored chat is the context: the thread goes on instead of starting from nothing.
    expect(second.reply.turn).toBe(2);
    expect(second.reply.upstreamChat).toBe(first.reply.upstreamChat);
    expect(upstreamParent().body).toEqual(expect.any(String));
    expect(upstreamMessageText(lastUpstream())).toBe("Do you remember?");

    const chat = await harness.server.context.store.getChat(first.chatId!);
    expect(chat!.messages.map((message) => message.role)).toEqual(["user", "assistant", "user", "assistant"]);
  });

  it("chatId, as the original's clients write it, works the same, and names itself in errors", async () => {
    const first = await ask([{ role: "user", content: "Camel case" }]);
    const second = await ask([{ role: "user", content: "Still you?" }], { chatId: first.chatId });
    expect(second.chatId).toBe(first.chatId);
    expect(second.reply.turn).toBe(2);
    const malformed = await ask([{ role: "user", content: "Hi" }], { chatId: "nope" }).catch(
      (caught: unknown) => caught,
    );
    expect((malformed as InstanceType<typeof OpenAI.APIError>).param).toBe("chatId");
  });

  it("an unknown chat_id is a 404 chat_not_found, a malformed one a 400", async () => {
    const missing = await ask([{ role: "user", content: "Hi" }], {
      chat_id: "00000000-0000-4000-8000-000000000000",
    }).catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.APIError>).code).toBe("chat_not_found");

    const malformed = await ask([{ role: "user", content: "Hi" }], { chat_id: "../etc/passwd" }).catch(
      (caught: unknown) => caught,
    );
    expect(malformed).toBeInstanceOf(OpenAI.BadRequestError);
    expect((malformed as InstanceType<typeof OpenAI.APIError>).param).toBe("chat_id");
  });
});
