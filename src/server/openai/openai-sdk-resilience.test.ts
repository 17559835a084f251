import OpenAI from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spaHeaders } from "../../../testing/fake-qwen/test-support.js";
import type { RequestLogEntry } from "../../../testing/fake-qwen/types.js";
import {
  fetchSse,
  type Harness,
  type RunningProxy,
  sleep,
  startHarness,
  upstreamMessageText,
} from "../../../testing/proxy-harness.js";

// What happens around the answer: a client that hangs up, an account that is rate-limited,
// an upstream that pauses. Seen from the outside: the stored chat, the fake's own record of
// the upstream chat, and the raw SSE.

const REPLY = /^Turn (\d+) of chat ([0-9a-f]{8})\. You said: «([\s\S]*)»\. Привет 👋 你好/;

let harness: Harness;
let client: OpenAI;

beforeAll(async () => {
  harness = await startHarness({ accounts: 2 });
  client = harness.client();
});

afterEach(() => {
  harness.fake.clearScenario();
});

afterAll(async () => {
  await harness?.close();
});

function parseReply(content: string | null | undefined) {
  const match = REPLY.exec(content ?? "");
  if (!match) throw new Error(`not a reply of the fake: ${content}`);
  return { turn: Number(match[1]), upstreamChat: match[2]! };
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** The assistant text the fake holds for an upstream chat: what upstream actually produced. */
async function upstreamAnswer(entry: RequestLogEntry): Promise<string> {
  const account = harness.accounts.find((candidate) => candidate.id === entry.accountId);
  if (!account) throw new Error(`unknown account ${entry.accountId}`);
  const response = await fetch(`${harness.fake.url}/api/v2/chats/${entry.query.chat_id}`, {
    headers: spaHeaders(account.token),
  });
  const json = (await response.json()) as {
    data: { chat: { messages: Array<{ role: string; content: string }> } };
  };
  return json.data.chat.messages.filter((message) => message.role === "assistant").at(-1)?.content ?? "";
}

/** The chat's reply once its turn has ended in a failure (the error is recorded then). */
async function cutOffReply(chatId: string) {
  const chat = await harness.server.context.store.getChat(chatId);
  const message = chat?.messages.find((candidate) => candidate.role === "assistant");
  return message?.error !== undefined ? message : undefined;
}

describe("a client that aborts mid-stream", () => {
  it("makes the proxy abort upstream at once; the next request works", async () => {
    const delayMs = 100;
    harness.fake.setScenario({ kind: "slow-chunks", delayMs });
    const controller = new AbortController();
    const { data: stream, response } = await client.chat.completions
      .create(
        {
          model: "qwen3.7-plus",
          stream: true,
          messages: [{ role: "user", content: "Tell me a long story" }],
        },
        { signal: controller.signal },
      )
      .withResponse();
    const chatId = response.headers.get("x-chat-id")!;
    const upstreamRequest = harness.completionRequests().at(-1)!;

    let received = "";
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta.content ?? "";
      if (received !== "") controller.abort();
    }
    const abortedAt = Date.now();
    expect(received).not.toBe("");

    // The proxy noticed: the turn ended with the stored reply cut off and the failure recorded,
    // well before upstream would have finished (the full answer takes seconds at this pace).
    const assistant = await waitFor(() => cutOffReply(chatId), 1000);
    expect(Date.now() - abortedAt).toBeLessThan(5 * delayMs);
    expect(assistant.status).toBe("incomplete");
    expect(assistant.content.startsWith(received)).toBe(true);
    expect(assistant.content).not.toMatch(/你好$/);

    // Upstream stopped too: its copy of the answer stays partial and stops growing.
    await sleep(2 * delayMs);
    const partial = await upstreamAnswer(upstreamRequest);
    await sleep(4 * delayMs);
    expect(await upstreamAnswer(upstreamRequest)).toBe(partial);
    expect(partial).not.toMatch(/你好$/);

    // And it stays cut off: nothing completed it behind the client's back.
    expect((await cutOffReply(chatId))?.status).toBe("incomplete");

    harness.fake.clearScenario();
    const next = await client.chat.completions.create({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "Short one" }],
    });
    expect(next.choices[0]!.message.content).toContain("You said: «Short one»");
    expect(next.choices[0]!.finish_reason).toBe("stop");
  });

  it("an abort before the first chunk stops upstream as well", async () => {
    const delayMs = 150;
    harness.fake.setScenario({ kind: "slow-chunks", delayMs });
    const controller = new AbortController();
    const before = harness.completionRequests().length;
    const pending = client.chat.completions.create(
      { model: "qwen3.7-plus", stream: true, messages: [{ role: "user", content: "Never mind" }] },
      { signal: controller.signal },
    );
    // Upstream has the request but has not said anything yet.
    await waitFor(async () => (harness.completionRequests().length > before ? true : undefined), 1000);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    const upstreamRequest = harness.completionRequests().at(-1)!;

    // Long enough for several upstream events, had the request gone on.
    await sleep(4 * delayMs);
    expect(await upstreamAnswer(upstreamRequest)).toBe("");
    // The proxy recorded the turn as failed, with nothing shown.
    const reply = await waitFor(async () => {
      const { chats } = await harness.server.context.store.listChats({ limit: 1000 });
      for (const summary of chats) {
        const chat = await harness.server.context.store.getChat(summary.id);
        if (!chat?.messages.some((message) => message.content === "Never mind")) continue;
        return chat.messages.find((message) => message.role === "assistant" && message.error !== undefined);
      }
      return undefined;
    }, 1000);
    expect(reply.status).toBe("failed");
    expect(reply.content).toBe("");

    harness.fake.clearScenario();
    const next = await client.chat.completions.create({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "Again, quickly" }],
    });
    expect(next.choices[0]!.message.content).toContain("You said: «Again, quickly»");
  });
});

describe("retry across accounts", () => {
  let pair: RunningProxy;

  beforeAll(async () => {
    pair = await harness.startProxy({ tokens: harness.accounts.map((account) => account.token) });
  });

  it("a rate-limited first account does not fail the request: the other account answers", async () => {
    const [limited, healthy] = harness.accounts as [
      (typeof harness.accounts)[0],
      (typeof harness.accounts)[0],
    ];
    harness.fake.setScenario({ kind: "rate-limited", hours: 1 }, { accountId: limited.id });
    const before = harness.completionRequests().length;

    for (const text of ["First after the limit", "Second after the limit"]) {
      const completion = await pair.client().chat.completions.create({
        model: "qwen3.7-plus",
        messages: [{ role: "user", content: text }],
      });
      expect(completion.choices[0]!.message.content).toContain(`You said: «${text}»`);
      expect(parseReply(completion.choices[0]!.message.content).turn).toBe(1);
    }
    const stream = pair.client().chat.completions.stream({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "Streamed after the limit" }],
    });
    expect(await stream.finalContent()).toContain("You said: «Streamed after the limit»");

    const made = harness.completionRequests().slice(before);
    // The limited account was tried (and is now left alone); the answers came from the other.
    expect(made.filter((entry) => entry.accountId === limited.id)).toHaveLength(1);
    expect(made.filter((entry) => entry.accountId === healthy.id)).toHaveLength(3);
  });

  it("a conversation whose account becomes rate-limited moves on with its history folded in", async () => {
    const proxy = await harness.startProxy({ tokens: harness.accounts.map((account) => account.token) });
    const openai = proxy.client();
    const history: ChatCompletionMessageParam[] = [];
    const say = async (text: string) => {
      history.push({ role: "user", content: text });
      const completion = await openai.chat.completions.create({ model: "qwen3.7-plus", messages: history });
      const content = completion.choices[0]!.message.content!;
      history.push({ role: "assistant", content });
      return { reply: parseReply(content), upstream: harness.completionRequests().at(-1)! };
    };

    const one = await say("The password is swordfish");
    const two = await say("Keep it secret");
    expect(two.reply.turn).toBe(2);
    expect(two.upstream.accountId).toBe(one.upstream.accountId);

    harness.fake.setScenario({ kind: "rate-limited", hours: 1 }, { accountId: one.upstream.accountId! });
    const three = await say("What is the password?");
    expect(three.upstream.accountId).not.toBe(one.upstream.accountId);
    // A new upstream chat on the other account, which gets the whole story in one message.
    expect(three.reply.turn).toBe(1);
    expect(three.reply.upstreamChat).not.toBe(one.reply.upstreamChat);
    const folded = upstreamMessageText(three.upstream);
    expect(folded).toContain("The password is swordfish");
    expect(folded).toContain("Keep it secret");
    expect(folded).toContain("What is the password?");

    // And from there the new thread is continued.
    const four = await say("Thanks");
    expect(four.reply.turn).toBe(2);
    expect(four.reply.upstreamChat).toBe(three.reply.upstreamChat);
    expect(upstreamMessageText(four.upstream)).toBe("Thanks");
  });
});

describe("keep-alive while upstream is slow", () => {
  let heartbeat: RunningProxy;

  beforeAll(async () => {
    heartbeat = await harness.startProxy({
      tokens: harness.accounts.map((account) => account.token),
      config: { keepAliveMs: 10 },
    });
  });

  it("sends `: keep-alive` comments between chunks, and the SDK still parses the stream", async () => {
    harness.fake.setScenario({ kind: "slow-chunks", delayMs: 30 });
    const sse = await fetchSse(`${heartbeat.url}/v1/chat/completions`, {
      model: "qwen3.7-plus",
      stream: true,
      messages: [{ role: "user", content: "Slowly" }],
    });
    expect(sse.status).toBe(200);
    expect(sse.raw).toMatch(/(^|\n): keep-alive\n\n/);
    expect(sse.data.at(-1)).toBe("[DONE]");

    const stream = heartbeat.client().chat.completions.stream({
      model: "qwen3.7-plus",
      messages: [{ role: "user", content: "Slowly through the SDK" }],
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe("stop");
    expect(final.choices[0]!.message.content).toContain("You said: «Slowly through the SDK»");
    expect(parseReply(final.choices[0]!.message.content).turn).toBe(1);
  });
});
