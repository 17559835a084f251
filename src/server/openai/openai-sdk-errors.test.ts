import OpenAI from "openai";
import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from "openai/resources/chat/completions";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FakeScenario } from "../../../testing/fake-qwen/types.js";
import {
  type ApiError,
  apiFailure,
  type Harness,
  type RunningProxy,
  startHarness,
} from "../../../testing/proxy-harness.js";

// Every failure as the OpenAI SDK surfaces it: the APIError subclass, status, code and type,
// an error body with all four keys, and the retry headers the SDK obeys. Never a 200 with an
// empty answer.

type ErrorClass = abstract new (...args: never[]) => ApiError;

const BODY_LIMIT = 64 * 1024;
const IDLE_TIMEOUT_MS = 300;

let harness: Harness;
let client: OpenAI;

beforeAll(async () => {
  harness = await startHarness({
    config: { bodyLimit: BODY_LIMIT, streamIdleTimeoutMs: IDLE_TIMEOUT_MS },
  });
  client = harness.client();
});

afterEach(() => {
  harness.fake.clearScenario();
});

afterAll(async () => {
  await harness?.close();
});

const HELLO = { model: "qwen3.7-plus", messages: [{ role: "user" as const, content: "Hello" }] };

/** A proxy of its own with a fresh upstream account, for failures that park the account. */
async function isolatedProxy(): Promise<{ proxy: RunningProxy; accountId: string }> {
  const account = harness.fake.addAccount();
  const proxy = await harness.startProxy({
    tokens: [account.token],
    config: { streamIdleTimeoutMs: IDLE_TIMEOUT_MS },
  });
  return { proxy, accountId: account.id };
}

/** The SDK error: its class, status, code and type, and an error body with all four keys. */
function expectApiError(
  error: ApiError,
  expected: { kind: ErrorClass; status: number; code?: string; type?: string; param?: string | null },
): void {
  expect(error).toBeInstanceOf(expected.kind);
  expect(error.status).toBe(expected.status);
  expect(Object.keys(error.error as object).sort()).toEqual(["code", "message", "param", "type"]);
  const body = error.error as { message: unknown; type: unknown };
  expect(typeof body.message).toBe("string");
  expect(body.message).not.toBe("");
  expect(typeof body.type).toBe("string");
  if (expected.code !== undefined) expect(error.code).toBe(expected.code);
  if (expected.type !== undefined) expect(error.type).toBe(expected.type);
  if (expected.param !== undefined) expect(error.param).toBe(expected.param);
}

function create(openai: OpenAI, params: Partial<ChatCompletionCreateParamsNonStreaming> = {}) {
  return openai.chat.completions.create({ ...HELLO, ...params } as ChatCompletionCreateParamsNonStreaming);
}

function createStream(openai: OpenAI, params: Partial<ChatCompletionCreateParamsStreaming> = {}) {
  return openai.chat.completions.create({
    ...HELLO,
    ...params,
    stream: true,
  } as ChatCompletionCreateParamsStreaming);
}

async function postRaw(url: string, body: string, headers: Record<string, string>) {
  const response = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers, body });
  return { status: response.status, headers: response.headers, json: (await response.json()) as ErrorBody };
}

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

function expectErrorBody(json: ErrorBody): void {
  expect(Object.keys(json.error).sort()).toEqual(["code", "message", "param", "type"]);
}

describe("invalid requests (400)", () => {
  it("invalid JSON is a 400 invalid_request_error", async () => {
    const { status, json } = await postRaw(harness.url, '{"model": "qwen3.7-plus", "messages": [', {
      "content-type": "application/json",
      authorization: "Bearer x",
    });
    expect(status).toBe(400);
    expectErrorBody(json);
    expect(json.error.type).toBe("invalid_request_error");
    expect(json.error.code).toBe("invalid_json");
  });

  it("valid JSON sent with fetch's default text/plain content type is still read", async () => {
    // fetch() with a string body and no content-type header sends text/plain;charset=UTF-8.
    const response = await fetch(`${harness.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify(HELLO),
    });
    const json = (await response.json()) as OpenAI.ChatCompletion;
    expect(response.status).toBe(200);
    expect(json.choices[0]!.message.content).toContain("You said: «Hello»");
  });

  it("a body without messages is a BadRequestError naming the field", async () => {
    const error = await apiFailure(client.chat.completions.create({ model: "qwen3.7-plus" } as never));
    expectApiError(error, {
      kind: OpenAI.BadRequestError,
      status: 400,
      type: "invalid_request_error",
      param: "messages",
    });
  });

  it("a last message that is not from the user is a 400 naming that message's role", async () => {
    const error = await apiFailure(
      create(client, {
        messages: [
          { role: "user", content: "Hi" },
          { role: "assistant", content: "Hello!" },
        ],
      }),
    );
    expectApiError(error, { kind: OpenAI.BadRequestError, status: 400, param: "messages.1.role" });
  });

  it("an attachment of a refused type (a program as a data: URI) is a 400 unsupported_file_type", async () => {
    const error = await apiFailure(
      create(client, {
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "Look" },
              {
                type: "image_url",
                image_url: { url: "data:application/octet-stream;base64,TVqQAAMAAAAEAAAA" },
              },
            ],
          },
        ],
      }),
    );
    expectApiError(error, { kind: OpenAI.BadRequestError, status: 400, code: "unsupported_file_type" });
    expect(error.param).toContain("messages.0.content.1");
  });

  it("input moderation is a 400, not an empty answer", async () => {
    harness.fake.setScenario({ kind: "moderation", where: "input" });
    const error = await apiFailure(create(client));
    expectApiError(error, { kind: OpenAI.BadRequestError, status: 400, code: "content_filter" });
  });
});

describe("authentication (401)", () => {
  let guarded: RunningProxy;

  beforeAll(async () => {
    guarded = await harness.startProxy({
      tokens: harness.accounts.map((account) => account.token),
      config: { apiKeys: ["k1"] },
    });
  });

  it("a wrong key is an AuthenticationError invalid_api_key that must not be retried", async () => {
    const listed = await apiFailure(guarded.client({ apiKey: "wrong" }).models.list());
    expectApiError(listed, { kind: OpenAI.AuthenticationError, status: 401, code: "invalid_api_key" });
    expect(listed.headers?.get("x-should-retry")).toBe("false");

    const completion = await apiFailure(create(guarded.client({ apiKey: "wrong" })));
    expectApiError(completion, { kind: OpenAI.AuthenticationError, status: 401, code: "invalid_api_key" });
  });

  it("a missing key is a 401 too", async () => {
    const { status, json } = await postRaw(guarded.url, JSON.stringify(HELLO), {
      "content-type": "application/json",
    });
    expect(status).toBe(401);
    expectErrorBody(json);
    expect(json.error.code).toBe("invalid_api_key");
  });

  it("the right key works as a Bearer token and as x-api-key", async () => {
    const bearer = await create(guarded.client({ apiKey: "k1" }));
    expect(bearer.choices[0]!.message.content).toContain("You said: «Hello»");

    const response = await fetch(`${guarded.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k1" },
      body: JSON.stringify(HELLO),
    });
    expect(response.status).toBe(200);
    const json = (await response.json()) as OpenAI.ChatCompletion;
    expect(json.choices[0]!.message.content).toContain("You said: «Hello»");
  });
});

describe("not found and too large", () => {
  it("an unknown model is a NotFoundError model_not_found", async () => {
    const error = await apiFailure(create(client, { model: "gpt-17-ultra" }));
    expectApiError(error, {
      kind: OpenAI.NotFoundError,
      status: 404,
      code: "model_not_found",
      type: "invalid_request_error",
    });
  });

  it("a body over BODY_LIMIT is a 413", async () => {
    const error = await apiFailure(
      create(client, { messages: [{ role: "user", content: "x".repeat(BODY_LIMIT * 2) }] }),
    );
    expectApiError(error, { kind: OpenAI.APIError, status: 413 });
    expect(harness.completionRequests().some((entry) => JSON.stringify(entry.body).includes("xxxx"))).toBe(
      false,
    );
  });
});

describe("upstream failures", () => {
  it("rate-limited on the only account: RateLimitError 429 with retry-after", async () => {
    const { proxy, accountId } = await isolatedProxy();
    harness.fake.setScenario({ kind: "rate-limited", hours: 2 }, { accountId });
    const error = await apiFailure(create(proxy.client()));
    expectApiError(error, { kind: OpenAI.RateLimitError, status: 429 });
    const retryAfter = Number(error.headers?.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(2 * 3600);

    // The account is now parked: the next request is told when to come back.
    harness.fake.clearScenario();
    const parked = await apiFailure(create(proxy.client()));
    expect([429, 503]).toContain(parked.status);
    expect(Number(parked.headers?.get("retry-after"))).toBeGreaterThan(0);
  });

  it.each([
    ["waf", "upstream_verification_required", { kind: "waf" }],
    ["token-revoked", "upstream_unauthorized", { kind: "token-revoked" }],
  ] as Array<[string, string, FakeScenario]>)("%s is a 503 %s", async (_name, code, scenario) => {
    const { proxy, accountId } = await isolatedProxy();
    harness.fake.setScenario(scenario, { accountId });
    const error = await apiFailure(create(proxy.client()));
    expectApiError(error, { kind: OpenAI.InternalServerError, status: 503, code });
  });

  it.each([
    ["http-error 502", { kind: "http-error", status: 502 }],
    ["empty-stream", { kind: "empty-stream" }],
    ["no-answer", { kind: "no-answer" }],
    ["drop-mid-answer", { kind: "drop-mid-answer", afterDeltas: 3 }],
    ["internal-error", { kind: "internal-error" }],
  ] as Array<[string, FakeScenario]>)("%s (not streaming) is a 502", async (_name, scenario) => {
    harness.fake.setScenario(scenario);
    const error = await apiFailure(create(client));
    expectApiError(error, { kind: OpenAI.InternalServerError, status: 502 });
  });

  it.each([
    ["http-error 502", { kind: "http-error", status: 502 }],
    ["empty-stream", { kind: "empty-stream" }],
    ["no-answer", { kind: "no-answer" }],
  ] as Array<[string, FakeScenario]>)(
    "%s (streaming) fails with a real 502 status before any 200",
    async (_name, scenario) => {
      harness.fake.setScenario(scenario);
      const error = await apiFailure(createStream(client).then((stream) => drain(stream)));
      expectApiError(error, { kind: OpenAI.InternalServerError, status: 502 });
    },
  );

  it("upstream silent for longer than STREAM_IDLE_TIMEOUT_MS is a 504", async () => {
    harness.fake.setScenario({ kind: "slow-chunks", delayMs: 3000 });
    const started = Date.now();
    const error = await apiFailure(create(client));
    expectApiError(error, { kind: OpenAI.InternalServerError, status: 504, code: "upstream_timeout" });
    expect(Date.now() - started).toBeLessThan(2500);

    const streamed = await apiFailure(createStream(client).then((stream) => drain(stream)));
    expectApiError(streamed, { kind: OpenAI.InternalServerError, status: 504 });
  });

  it("no account configured: 503 no_account_available, and x-should-retry: false", async () => {
    const empty = await harness.startProxy({ tokens: [] });
    const error = await apiFailure(create(empty.client()));
    expectApiError(error, {
      kind: OpenAI.InternalServerError,
      status: 503,
      code: "no_account_available",
    });
    expect(error.headers?.get("x-should-retry")).toBe("false");
  });

  it("the proxy is healthy again once upstream recovers", async () => {
    const completion = await create(client);
    expect(completion.choices[0]!.message.content).toContain("You said: «Hello»");
    expect(completion.choices[0]!.finish_reason).toBe("stop");
  });
});

async function drain(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<string> {
  let content = "";
  for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
  return content;
}

describe("errors after the stream started", () => {
  it("drop-mid-answer: the SDK's iteration throws an APIError after some content", async () => {
    harness.fake.setScenario({ kind: "drop-mid-answer", afterDeltas: 3 });
    const stream = await createStream(client);
    let content = "";
    const error = await apiFailure(
      (async () => {
        for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
      })(),
    );
    expect(content).not.toBe("");
    expect("Turn 1 of chat").toContain(content.slice(0, 14));
    expect(Object.keys(error.error as object).sort()).toEqual(["code", "message", "param", "type"]);
    expect(error.code).toEqual(expect.any(String));
  });

  it("on the wire: an error event with all four keys, then the end, without [DONE]", async () => {
    harness.fake.setScenario({ kind: "drop-mid-answer", afterDeltas: 3 });
    const response = await fetch(`${harness.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...HELLO, stream: true }),
    });
    expect(response.status).toBe(200);
    const raw = await response.text();
    const data = raw
      .split("\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => line.slice(6));
    expect(data).not.toContain("[DONE]");
    const last = JSON.parse(data.at(-1)!) as ErrorBody;
    expectErrorBody(last);
    expect(last.error.type).toEqual(expect.any(String));
  });
});
