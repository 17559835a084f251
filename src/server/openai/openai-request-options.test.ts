import OpenAI from "openai";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from "openai/resources/chat/completions";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spaHeaders } from "../../../testing/fake-qwen/test-support.js";
import type { RequestLogEntry } from "../../../testing/fake-qwen/types.js";
import {
  fetchSse,
  type Harness,
  sleep,
  startHarness,
  upstreamBody,
  upstreamMessages,
  upstreamMessageText,
} from "../../../testing/proxy-harness.js";

// OpenAI request options a client sets to shape the answer: `stop`, `max_tokens` /
// `max_completion_tokens`, `n`, `stream_options.include_usage`, speaker names, refusal parts,
// and the base URLs clients build. Through the real SDK (and raw HTTP where the wire matters),
// with the fake chat.qwen.ai behind the proxy.

const REPLY = /^Turn (\d+) of chat ([0-9a-f]{8})\. You said: «([\s\S]*)»\. Привет 👋 你好/;
const MODEL = "qwen3.7-plus";

let harness: Harness;
let client: OpenAI;

beforeAll(async () => {
  harness = await startHarness();
  client = harness.client();
});

afterEach(() => {
  harness.fake.clearScenario();
});

afterAll(async () => {
  await harness?.close();
});

type Extra = Record<string, unknown>;

function lastUpstream(): RequestLogEntry {
  const entry = harness.completionRequests().at(-1);
  if (!entry) throw new Error("no upstream completion request was made");
  return entry;
}

/** The complete reply the fake writes for this upstream request (its first turn). */
function fullReplyOf(entry: RequestLogEntry, said: string): string {
  const chat = String(entry.query.chat_id).slice(0, 8);
  return `Turn 1 of chat ${chat}. You said: «${said}». Привет 👋 你好`;
}

/** parent_id of an upstream request, on the body and on its one message. */
function upstreamParent(entry: RequestLogEntry) {
  const message = upstreamMessages(entry)[0]!;
  return { body: upstreamBody(entry).parent_id, message: message.parent_id ?? message.parentId ?? null };
}

async function ask(messages: ChatCompletionMessageParam[], extra: Extra = {}) {
  const params = { model: MODEL, messages, ...extra } as ChatCompletionCreateParamsNonStreaming;
  const { data, response } = await client.chat.completions.create(params).withResponse();
  const completion = data as ChatCompletion & { chat_id?: string };
  return {
    completion,
    content: completion.choices[0]!.message.content ?? "",
    finish: completion.choices[0]!.finish_reason,
    chatId: completion.chat_id ?? "",
    headerChatId: response.headers.get("x-chat-id"),
    upstream: lastUpstream(),
  };
}

async function askStream(messages: ChatCompletionMessageParam[], extra: Extra = {}) {
  const params = { model: MODEL, messages, stream: true, ...extra } as ChatCompletionCreateParamsStreaming;
  const { data: stream, response } = await client.chat.completions.create(params).withResponse();
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const finishes = chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter((reason) => reason != null);
  return {
    chunks,
    content: chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join(""),
    finishes,
    chatId: response.headers.get("x-chat-id") ?? "",
    upstream: lastUpstream(),
  };
}

interface StoredChat {
  chatId: string;
  messages: Array<{ role: string; content: string; status: string; error?: string }>;
}

async function storedChat(chatId: string): Promise<StoredChat> {
  const response = await fetch(`${harness.url}/api/chats/${chatId}`, {
    headers: { authorization: "Bearer x" },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as StoredChat;
}

/** The assistant text the fake holds for an upstream chat: what upstream actually produced. */
async function upstreamAnswer(entry: RequestLogEntry): Promise<string> {
  const account = harness.accounts.find((candidate) => candidate.id === entry.accountId)!;
  const response = await fetch(`${harness.fake.url}/api/v2/chats/${entry.query.chat_id}`, {
    headers: spaHeaders(account.token),
  });
  const json = (await response.json()) as {
    data: { chat: { messages: Array<{ role: string; content: string }> } };
  };
  return json.data.chat.messages.filter((message) => message.role === "assistant").at(-1)?.content ?? "";
}

/**
 * The client's next turn after a cut answer (the history as the client holds it): the cut
 * reply is all the client knows, so upstream, whose reply was longer, must not continue its
 * thread; the history is folded into a new upstream chat instead.
 */
async function expectNextTurnFolds(
  question: string,
  cut: string,
  chatId: string,
  firstUpstream: RequestLogEntry,
) {
  const next = await ask([
    { role: "user", content: question },
    { role: "assistant", content: cut },
    { role: "user", content: "And then?" },
  ]);
  expect(next.finish).toBe("stop");
  expect(next.content).toMatch(REPLY);
  // The same local chat (the history was recognised) …
  expect(next.chatId).toBe(chatId);
  // … but a new upstream thread, started without a parent, with the history folded in.
  expect(next.upstream.query.chat_id).not.toBe(firstUpstream.query.chat_id);
  expect(upstreamParent(next.upstream)).toEqual({ body: null, message: null });
  expect(REPLY.exec(next.content)![1]).toBe("1");
  const folded = upstreamMessageText(next.upstream);
  expect(folded).toContain(question);
  expect(folded).toContain(`Assistant: ${cut.trim()}`);
  expect(folded).toContain("And then?");
  expect(folded).not.toContain("你好");
  const stored = await storedChat(chatId);
  expect(stored.messages.map((message) => message.role)).toEqual(["user", "assistant", "user", "assistant"]);
}

describe("stop", () => {
  it("non-streaming: the answer ends right before the stop string, finish_reason stop", async () => {
    const question = "Stop at the greeting";
    const answer = await ask([{ role: "user", content: question }], { stop: "Привет" });
    const full = fullReplyOf(answer.upstream, question);
    expect(answer.content).toBe(full.slice(0, full.indexOf("Привет")));
    expect(answer.content).not.toContain("Привет");
    expect(answer.finish).toBe("stop");
    expect(answer.chatId).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.headerChatId).toBe(answer.chatId);

    // The stored chat holds what the client got, as a complete reply.
    const stored = await storedChat(answer.chatId);
    expect(stored.messages).toHaveLength(2);
    expect(stored.messages[0]).toMatchObject({ role: "user", content: question });
    expect(stored.messages[1]).toMatchObject({
      role: "assistant",
      content: answer.content,
      status: "complete",
    });
    expect(stored.messages[1]!.error).toBeUndefined();

    await expectNextTurnFolds(question, answer.content, answer.chatId, answer.upstream);
  });

  it("non-streaming with an array: the earliest stop string in the answer wins", async () => {
    const question = "Two stops";
    const answer = await ask([{ role: "user", content: question }], { stop: ["你好", "👋", "never there"] });
    const full = fullReplyOf(answer.upstream, question);
    expect(answer.content).toBe(full.slice(0, full.indexOf("👋")));
    expect(answer.content.endsWith("Привет ")).toBe(true);
    expect(answer.finish).toBe("stop");
  });

  it("a stop string split over several upstream deltas is still found", async () => {
    // Upstream sends a few characters a delta: this long stop string spans several.
    const question = "Split stop";
    const answer = await ask([{ role: "user", content: question }], { stop: `You said: «${question}»` });
    const full = fullReplyOf(answer.upstream, question);
    expect(answer.content).toBe(full.slice(0, full.indexOf("You said")));
    expect(answer.finish).toBe("stop");
  });

  it("streaming with an array: chunks add up to the text before the stop string; stored cut and complete", async () => {
    const question = "Stream until the emoji";
    const answer = await askStream([{ role: "user", content: question }], { stop: ["👋", "你好"] });
    const full = fullReplyOf(answer.upstream, question);
    expect(answer.content).toBe(full.slice(0, full.indexOf("👋")));
    expect(answer.finishes).toEqual(["stop"]);
    expect(answer.chunks.at(-1)!.choices[0]!.finish_reason).toBe("stop");
    expect(answer.chatId).toMatch(/^[0-9a-f-]{36}$/);

    const stored = await storedChat(answer.chatId);
    expect(stored.messages[1]).toMatchObject({
      role: "assistant",
      content: answer.content,
      status: "complete",
    });

    await expectNextTurnFolds(question, answer.content, answer.chatId, answer.upstream);
  });

  it("streaming with a string, on the wire: ends with finish_reason stop and [DONE]", async () => {
    const question = "Raw stop";
    const sse = await fetchSse(`${harness.url}/v1/chat/completions`, {
      model: MODEL,
      stream: true,
      stop: "Привет",
      messages: [{ role: "user", content: question }],
    });
    expect(sse.status).toBe(200);
    expect(sse.data.at(-1)).toBe("[DONE]");
    const chunks = sse.data.filter((item) => item !== "[DONE]") as unknown as ChatCompletionChunk[];
    const content = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
    expect(content).toBe(fullReplyOf(lastUpstream(), question).split("Привет")[0]);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("stop");
    expect(sse.raw).not.toContain("Привет");
  });

  it("a stop string that never appears changes nothing: the whole answer, and the thread continues", async () => {
    const question = "No stop here";
    const first = await ask([{ role: "user", content: question }], { stop: ["NEVER", "nowhere"] });
    expect(first.content).toBe(fullReplyOf(first.upstream, question));
    expect(first.finish).toBe("stop");

    const next = await ask(
      [
        { role: "user", content: question },
        { role: "assistant", content: first.content },
        { role: "user", content: "Go on" },
      ],
      { stop: "NEVER" },
    );
    expect(REPLY.exec(next.content)![1]).toBe("2");
    expect(next.upstream.query.chat_id).toBe(first.upstream.query.chat_id);
    expect(upstreamParent(next.upstream).body).toEqual(expect.any(String));
    expect(upstreamMessageText(next.upstream)).toBe("Go on");
  });

  it("cutting aborts upstream: its copy of the answer stays partial", async () => {
    const delayMs = 15;
    harness.fake.setScenario({ kind: "slow-chunks", delayMs });
    const question = "Abort me early";
    const started = Date.now();
    const answer = await ask([{ role: "user", content: question }], { stop: "of chat" });
    const took = Date.now() - started;
    expect(answer.content).toBe("Turn 1 ");
    expect(answer.finish).toBe("stop");

    // The whole answer takes upstream about 0.4 s at this pace; wait well past its end.
    await sleep(Math.max(0, 900 - took));
    const upstream = await upstreamAnswer(answer.upstream);
    expect(upstream.startsWith("Turn 1 ")).toBe(true);
    expect(upstream).not.toContain("你好");
    expect(upstream).not.toContain(question);
  });

  it("more than four stop strings is a 400 naming 'stop'", async () => {
    const before = harness.completionRequests().length;
    const error = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: "user", content: "Hi" }], stop: ["a", "b", "c", "d", "e"] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("stop");
    expect(harness.completionRequests()).toHaveLength(before);
  });
});

describe("max_tokens and max_completion_tokens", () => {
  const question = "Please give me a reply that is cut short";

  it.each(["max_tokens", "max_completion_tokens"])(
    "%s: 3, not streaming: finish_reason length, a strict beginning of the whole answer",
    async (param) => {
      const whole = await ask([{ role: "user", content: question }]);
      expect(whole.finish).toBe("stop");
      expect(whole.content).toBe(fullReplyOf(whole.upstream, question));

      const limited = await ask([{ role: "user", content: question }], { [param]: 3 });
      expect(limited.finish).toBe("length");
      expect(limited.content).not.toBe("");
      expect(limited.content.length).toBeLessThan(whole.content.length);
      expect(fullReplyOf(limited.upstream, question).startsWith(limited.content)).toBe(true);
      // Three tokens are a few words, nowhere near the echoed question.
      expect(limited.content).not.toContain(question);
    },
  );

  it.each(["max_tokens", "max_completion_tokens"])(
    "%s: 3, streaming: finish_reason length, fewer characters than the whole answer",
    async (param) => {
      const whole = await askStream([{ role: "user", content: question }]);
      expect(whole.finishes).toEqual(["stop"]);

      const limited = await askStream([{ role: "user", content: question }], { [param]: 3 });
      expect(limited.finishes).toEqual(["length"]);
      expect(limited.chunks.at(-1)!.choices[0]!.finish_reason).toBe("length");
      expect(limited.content).not.toBe("");
      expect(limited.content.length).toBeLessThan(whole.content.length);
      expect(fullReplyOf(limited.upstream, question).startsWith(limited.content)).toBe(true);
    },
  );

  it("max_tokens: 1, as clients send to probe a model, still answers with some text", async () => {
    const limited = await ask([{ role: "user", content: question }], { max_tokens: 1 });
    expect(limited.finish).toBe("length");
    expect(limited.content).not.toBe("");
    expect(fullReplyOf(limited.upstream, question).startsWith(limited.content)).toBe(true);
  });

  it("max_completion_tokens wins over max_tokens", async () => {
    const limited = await ask([{ role: "user", content: question }], {
      max_tokens: 10_000,
      max_completion_tokens: 3,
    });
    expect(limited.finish).toBe("length");
    expect(limited.content.length).toBeLessThan(fullReplyOf(limited.upstream, question).length);
  });

  it("a generous limit changes nothing", async () => {
    const answer = await ask([{ role: "user", content: question }], { max_tokens: 4096 });
    expect(answer.finish).toBe("stop");
    expect(answer.content).toBe(fullReplyOf(answer.upstream, question));
  });

  it("the cut answer is stored complete, and the next turn folds it into a new upstream chat", async () => {
    const answer = await ask([{ role: "user", content: question }], { max_tokens: 3 });
    expect(answer.finish).toBe("length");
    const stored = await storedChat(answer.chatId);
    expect(stored.messages[1]).toMatchObject({
      role: "assistant",
      content: answer.content,
      status: "complete",
    });
    await expectNextTurnFolds(question, answer.content, answer.chatId, answer.upstream);
  });

  it.each([0, -1, 2.5])("max_tokens %s is a 400 naming it", async (value) => {
    const error = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: "user", content: "Hi" }], max_tokens: value })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("max_tokens");
  });
});

describe("n", () => {
  it("n: 2 is a BadRequestError naming 'n', and upstream is not asked", async () => {
    const before = harness.completionRequests().length;
    for (const stream of [false, true]) {
      const error = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: "user", content: "Two please" }], n: 2, stream })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      const apiError = error as InstanceType<typeof OpenAI.BadRequestError>;
      expect(apiError.status).toBe(400);
      expect(apiError.param).toBe("n");
      expect(apiError.type).toBe("invalid_request_error");
      expect(apiError.message).toMatch(/n=1/);
    }
    expect(harness.completionRequests()).toHaveLength(before);
  });

  it("n: 1 works as without it", async () => {
    const answer = await ask([{ role: "user", content: "One please" }], { n: 1 });
    expect(answer.completion.choices).toHaveLength(1);
    expect(answer.content).toContain("You said: «One please»");
    expect(answer.finish).toBe("stop");
  });
});

describe("stream_options.include_usage on the wire", () => {
  it("every chunk says usage: null except the last, which has no choices and the usage", async () => {
    const sse = await fetchSse(`${harness.url}/v1/chat/completions`, {
      model: MODEL,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Usage please" }],
    });
    expect(sse.status).toBe(200);
    expect(sse.data.at(-1)).toBe("[DONE]");
    const chunks = sse.data.filter((item) => item !== "[DONE]");
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk).toHaveProperty("usage", null);
      expect((chunk.choices as unknown[]).length).toBe(1);
    }
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    const usage = last.usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    expect(usage.prompt_tokens).toBeGreaterThan(1000);
    expect(usage.completion_tokens).toBeGreaterThan(0);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    // The finish_reason chunk comes right before the usage chunk.
    const beforeLast = chunks.at(-2) as unknown as ChatCompletionChunk;
    expect(beforeLast.choices[0]!.finish_reason).toBe("stop");
  });

  it("without include_usage no chunk has a usage key, and there is no usage chunk", async () => {
    for (const streamOptions of [undefined, { include_usage: false }]) {
      const sse = await fetchSse(`${harness.url}/v1/chat/completions`, {
        model: MODEL,
        stream: true,
        ...(streamOptions ? { stream_options: streamOptions } : {}),
        messages: [{ role: "user", content: "No usage please" }],
      });
      const chunks = sse.data.filter((item) => item !== "[DONE]");
      expect(chunks.length).toBeGreaterThan(3);
      for (const chunk of chunks) {
        expect(chunk).not.toHaveProperty("usage");
        expect((chunk.choices as unknown[]).length).toBe(1);
      }
    }
  });

  it("a non-streaming answer with include_usage is the usual completion", async () => {
    const response = await fetch(`${harness.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer x" },
      body: JSON.stringify({
        model: MODEL,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: "Plain" }],
      }),
    });
    expect(response.status).toBe(200);
    const json = (await response.json()) as ChatCompletion;
    expect(json.object).toBe("chat.completion");
    expect(json.usage!.prompt_tokens).toBeGreaterThan(1000);
    expect(json.choices[0]!.message.content).toContain("You said: «Plain»");
  });
});

describe("a cut answer with web search", () => {
  it("ends at the cut: no source list after it", async () => {
    const whole = await ask([{ role: "user", content: "search the web" }], { enable_search: true });
    expect(whole.content).toMatch(/\n\nSources:\n/);
    const cut = await ask([{ role: "user", content: "search the web" }], {
      enable_search: true,
      stop: ["Привет"],
    });
    expect(cut.finish).toBe("stop");
    expect(cut.content).not.toContain("Sources");
    expect(cut.content).not.toContain("Привет");
    expect((await storedChat(cut.chatId)).messages.at(-1)?.content).toBe(cut.content);
  });
});

describe("messages the SDK sends back", () => {
  it("a user message that is empty but for its speaker's name is still empty: 400", async () => {
    const error = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: "user", name: "alice", content: "  " }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("messages.0.content");
  });

  it("a user's name reaches upstream as 'name: text'", async () => {
    const answer = await ask([{ role: "user", name: "alice", content: "Hi from Alice" }]);
    expect(upstreamMessageText(answer.upstream)).toBe("alice: Hi from Alice");
    expect(answer.content).toContain("You said: «alice: Hi from Alice»");
  });

  it("names of earlier speakers and a named tool result are folded in with them", async () => {
    const messages = [
      { role: "system", content: "You are in a group chat." },
      { role: "user", name: "bob", content: "What is the weather in Paris?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_1", name: "get_weather", content: "Sunny, 21 °C" },
      { role: "user", name: "carol", content: "So, umbrella or not?" },
    ] as ChatCompletionMessageParam[];
    const answer = await ask(messages);
    expect(answer.finish).toBe("stop");
    const text = upstreamMessageText(answer.upstream);
    expect(text).toContain("bob: What is the weather in Paris?");
    expect(text).toContain("[Tool result: get_weather]\nSunny, 21 °C");
    expect(text).toContain("carol: So, umbrella or not?");
    expect(text.indexOf("[Tool result: get_weather]")).toBeLessThan(text.indexOf("carol: So, umbrella"));
  });

  it("a tool result without a name is still labelled as one", async () => {
    const answer = await ask([
      { role: "user", content: "Look it up" },
      { role: "tool", tool_call_id: "call_2", content: "42" },
      { role: "user", content: "Thanks" },
    ] as ChatCompletionMessageParam[]);
    expect(upstreamMessageText(answer.upstream)).toContain("[Tool result]\n42");
  });

  it("an assistant message with a refusal part is accepted and its text kept", async () => {
    const answer = await ask([
      { role: "user", content: "Do something forbidden" },
      { role: "assistant", content: [{ type: "refusal", refusal: "I cannot help with that." }] },
      { role: "user", content: "Something else then" },
    ]);
    expect(answer.finish).toBe("stop");
    expect(answer.content).toMatch(REPLY);
    const text = upstreamMessageText(answer.upstream);
    expect(text).toContain("Assistant: I cannot help with that.");
    expect(text).toContain("Something else then");
  });
});

describe("base URLs", () => {
  it("a base URL without /v1 works for models.list and chat.completions.create", async () => {
    const bare = harness.client({ baseURL: harness.url });
    const ids: string[] = [];
    for await (const model of bare.models.list()) ids.push(model.id);
    expect(ids).toContain(MODEL);
    expect((await bare.models.retrieve(MODEL)).id).toBe(MODEL);

    const completion = await bare.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Bare base URL" }],
    });
    expect(completion.choices[0]!.message.content).toContain("You said: «Bare base URL»");

    const stream = await bare.chat.completions.create({
      model: MODEL,
      stream: true,
      messages: [{ role: "user", content: "Bare stream" }],
    });
    let content = "";
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
    expect(content).toContain("You said: «Bare stream»");
  });

  it("a trailing slash is the same path", async () => {
    const response = await fetch(`${harness.url}/v1/chat/completions/`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer x" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Slash" }] }),
    });
    expect(response.status).toBe(200);
    const json = (await response.json()) as ChatCompletion;
    expect(json.choices[0]!.message.content).toContain("You said: «Slash»");

    const models = await fetch(`${harness.url}/v1/models/`, { headers: { authorization: "Bearer x" } });
    expect(models.status).toBe(200);
    const list = (await models.json()) as { data: Array<{ id: string }> };
    expect(list.data.map((model) => model.id)).toContain(MODEL);
  });

  it("the wrong method on a known path is a 405 that names the right one", async () => {
    for (const path of ["/v1/chat/completions", "/api/chat/completions/"]) {
      const response = await fetch(`${harness.url}${path}`, { headers: { authorization: "Bearer x" } });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("POST");
      const body = (await response.json()) as { error: { code: string; type: string } };
      expect(body.error).toMatchObject({ code: "method_not_allowed", type: "invalid_request_error" });
    }
  });

  it("strange paths are 4xx answers, never a 500", async () => {
    for (const path of ["/%E0%A4%A", "/*", "/:id", "/v1/models/%2e%2e%2f", "/v1/chat/completions?x=1"]) {
      const response = await fetch(`${harness.url}${path}`, { method: "PATCH" });
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
    }
  });

  it("an unknown path is still a 404, not a completion", async () => {
    const response = await fetch(`${harness.url}/v2/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer x" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Nope" }] }),
    });
    expect(response.status).toBe(404);
  });
});
