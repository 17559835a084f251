import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "./index.js";
import {
  answerOf,
  completionBody,
  createChat,
  deltaOf,
  postCompletion,
  readSse,
  spaHeaders,
} from "./test-support.js";

describe("fake-qwen scenarios", () => {
  let fake: FakeQwen;
  let alice: ReturnType<FakeQwen["addAccount"]>;
  let bob: ReturnType<FakeQwen["addAccount"]>;
  let aliceChat: string;
  let bobChat: string;

  beforeAll(async () => {
    fake = await startFakeQwen({ chunkDelayMs: 0 });
    alice = fake.addAccount();
    bob = fake.addAccount();
    aliceChat = await createChat(fake, alice.token);
    bobChat = await createChat(fake, bob.token);
  });
  afterEach(() => fake.clearScenario());
  afterAll(() => fake.close());

  const complete = (token = alice.token, chatId = aliceChat) =>
    postCompletion(fake, token, chatId, completionBody(chatId, { text: "scenario" }));
  const expectNormalStream = async (response: Response) => {
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(answerOf((await readSse(response)).events)).toContain("You said: «scenario»");
  };

  it("waf: answers a 200 HTML challenge page, even before authentication", async () => {
    fake.setScenario({ kind: "waf" }, { times: 2 });
    for (const token of [alice.token, "not-even-a-token"]) {
      const response = await complete(token);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/html");
      const page = await response.text();
      for (const marker of ["<!doctypehtml>", "aliyun_waf_aa", "安全验证", "AWSC"])
        expect(page).toContain(marker);
    }
    await expectNormalStream(await complete());
  });

  it("rate-limited: v2, v1 and HTTP 429 shapes carry num hours", async () => {
    fake.setScenario({ kind: "rate-limited", hours: 3 });
    const v2 = await complete();
    expect(v2.status).toBe(200);
    expect(await v2.json()).toMatchObject({
      success: false,
      data: { code: "RateLimited", details: "You've reached the upper limit for today's usage.", num: 3 },
    });
    fake.setScenario({ kind: "rate-limited", hours: 4, shape: "v1" });
    const v1 = (await (await complete()).json()) as Record<string, unknown>;
    expect(v1).toMatchObject({ code: "RateLimited", num: 4 });
    expect(v1.template).toContain("{{num}}");
    fake.setScenario({ kind: "rate-limited", hours: 1, shape: "http429" });
    const http = await complete();
    expect(http.status).toBe(429);
    expect(http.headers.get("retry-after")).toBe("3600");
    expect(await http.json()).toMatchObject({ data: { code: "RateLimited", num: 1 } });
  });

  it("scenarios count down with times and can target one account or route", async () => {
    fake.setScenario({ kind: "internal-error" }, { times: 1, accountId: bob.id });
    await expectNormalStream(await complete());
    expect(await (await complete(bob.token, bobChat)).json()).toMatchObject({
      success: false,
      data: { code: "Bad_Request", details: "Internal error" },
    });
    await expectNormalStream(await complete(bob.token, bobChat));

    fake.setScenario({ kind: "rate-limited", hours: 2 }, { route: "new-chat", times: 1 });
    await expectNormalStream(await complete());
    const newChat = await fetch(`${fake.url}/api/v2/chats/new`, {
      method: "POST",
      headers: spaHeaders(alice.token),
      body: JSON.stringify({ title: "New Chat", models: ["qwen3.7-plus"], chat_type: "t2t" }),
    });
    expect(await newChat.json()).toMatchObject({ data: { code: "RateLimited", num: 2 } });
    expect(await createChat(fake, alice.token)).toEqual(expect.any(String));
  });

  it("token-revoked: the caller's token gets 401 from then on", async () => {
    const token = fake.issueToken(alice.id);
    fake.setScenario({ kind: "token-revoked" }, { times: 1 });
    expect((await complete(token)).status).toBe(401);
    const again = await fetch(`${fake.url}/api/v1/auths/`, { headers: spaHeaders(token) });
    expect(again.status).toBe(401);
    await expectNormalStream(await complete(alice.token));
  });

  it("empty-stream: a 200 event stream with no bytes at all", async () => {
    fake.setScenario({ kind: "empty-stream" });
    const response = await complete();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const capture = await readSse(response);
    expect(capture.raw).toBe("");
    expect(capture.error).toBeNull();
  });

  it("no-answer: response.created and finished without any content", async () => {
    fake.setScenario({ kind: "no-answer" });
    const capture = await readSse(await complete());
    expect(capture.events[0]).toHaveProperty("response.created");
    expect(deltaOf(capture.events.at(-1) as Record<string, unknown>)?.status).toBe("finished");
    expect(answerOf(capture.events)).toBe("");
    const usages = capture.events.map((event) => event.usage as { output_tokens: number } | undefined);
    expect(usages.filter((usage) => usage !== undefined).every((usage) => usage?.output_tokens === 0)).toBe(
      true,
    );
  });

  it("drop-mid-answer: the socket dies after a few deltas", async () => {
    fake.setScenario({ kind: "drop-mid-answer", afterDeltas: 2 });
    const capture = await readSse(await complete());
    expect(capture.error).not.toBeNull();
    expect(answerOf(capture.events).length).toBeGreaterThan(0);
    expect(capture.raw).not.toContain('"status": "finished"');
  });

  it("slow-chunks: events are spaced out, the first one included", async () => {
    fake.setScenario({ kind: "slow-chunks", delayMs: 60 });
    const started = Date.now();
    const response = await complete();
    const capture = await readSse(response, 3);
    expect(capture.events.length).toBeGreaterThanOrEqual(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(170);
  });

  it("json-completion: a 200 JSON body in either shape instead of SSE", async () => {
    fake.setScenario({ kind: "json-completion" }, { times: 1 });
    const choices = await complete();
    expect(choices.headers.get("content-type")).toContain("application/json");
    const json = (await choices.json()) as {
      choices: Array<{ message: { content: string } }>;
      usage: object;
    };
    expect(json.choices[0]?.message.content).toContain("You said: «scenario»");
    expect(json.usage).toBeDefined();
    fake.setScenario({ kind: "json-completion", shape: "data-content" }, { times: 1 });
    expect(await (await complete()).json()).toMatchObject({
      success: true,
      data: { content: expect.stringContaining("Привет") },
    });
  });

  it("moderation: input as 200 JSON, output inside the stream after some deltas", async () => {
    fake.setScenario({ kind: "moderation", where: "input" }, { times: 1 });
    expect(await (await complete()).json()).toMatchObject({
      success: false,
      data: { code: "data_inspection_failed", details: "内容安全警告：输入数据可能包含不适当的内容！" },
    });
    fake.setScenario({ kind: "moderation", where: "output" }, { times: 1 });
    const capture = await readSse(await complete());
    const last = capture.events.at(-1) as { error: { code: string; details: string }; response_id: string };
    expect(last.error).toEqual({
      code: "data_inspection_failed",
      details: "内容安全警告：输出内容可能包含不适当的内容！",
    });
    expect(last.response_id).toEqual(expect.any(String));
    expect(answerOf(capture.events).length).toBeGreaterThan(0);
    expect(capture.error).toBeNull();
  });

  it("quota: an in-stream internal_error and then the end", async () => {
    fake.setScenario({ kind: "quota" });
    const capture = await readSse(await complete());
    expect(capture.events.at(-1)).toEqual({
      error: { code: "internal_error", details: expect.stringContaining("Allocated quota exceeded") },
    });
    expect(answerOf(capture.events)).toBe("");
  });

  it("http-error: any status and body, on any route when asked", async () => {
    fake.setScenario({ kind: "http-error", status: 502 }, { route: "any" });
    const gateway = await fetch(`${fake.url}/api/v1/auths/`, { headers: spaHeaders(alice.token) });
    expect(gateway.status).toBe(502);
    expect(gateway.headers.get("content-type")).toContain("text/html");
    expect(await gateway.text()).toContain("502");
    fake.setScenario({
      kind: "http-error",
      status: 503,
      body: '{"detail":"busy"}',
      contentType: "application/json",
    });
    const custom = await complete();
    expect(custom.status).toBe(503);
    expect(await custom.json()).toEqual({ detail: "busy" });
  });
});
