import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "../../testing/fake-qwen/index.js";
import { collect, reasoningOf, textOf } from "../../testing/replay.js";
import { QwenError } from "../errors.js";
import type { QwenEvent } from "../events.js";
import { DirectTransport } from "../transport/direct.js";
import type { Transport } from "../transport/transport.js";
import { QwenClient, signIn } from "./client.js";
import type { CompletionInput } from "./completion-request.js";
import { tokenExpiry } from "./jwt.js";

let fake: FakeQwen;
let transport: DirectTransport;
let account: Awaited<ReturnType<FakeQwen["addAccount"]>>;
let other: Awaited<ReturnType<FakeQwen["addAccount"]>>;

beforeAll(async () => {
  fake = await startFakeQwen();
  transport = new DirectTransport();
  account = fake.addAccount({ email: "alice@example.com", password: "correct horse" });
  other = fake.addAccount({ email: "bob@example.com", password: "battery staple" });
});

afterAll(async () => {
  await transport.close();
  await fake.close();
});

afterEach(() => {
  fake.clearScenario();
});

function clientFor(token: string, options: Partial<ConstructorParameters<typeof QwenClient>[0]> = {}) {
  return new QwenClient({ baseUrl: fake.url, transport, credentials: { token }, ...options });
}

async function turn(client: QwenClient, input: Omit<CompletionInput, "chatId"> & { chatId?: string }) {
  const chatId = input.chatId ?? (await client.createChat({ model: input.model, chatType: input.chatType }));
  const result = await collect(client.streamCompletion({ ...input, chatId }));
  return { chatId, ...result };
}

function responseIdOf(events: QwenEvent[]): string | undefined {
  const created = events.find((event) => event.type === "response-created");
  return created?.type === "response-created" ? created.responseId : undefined;
}

function completionRequests() {
  return fake.requests.filter((request) => request.path === "/api/v2/chat/completions");
}

describe("a conversation through the client", () => {
  it("answers, and continues the thread upstream through parent_id", async () => {
    const client = clientFor(account.token);
    const first = await turn(client, { model: "qwen3.7-plus", content: "Привет, кто ты? 👋" });
    expect(first.error).toBeUndefined();
    expect(textOf(first.events)).toContain("Turn 1");
    expect(textOf(first.events)).toContain("Привет, кто ты? 👋");
    expect(first.events.at(-1)?.type).toBe("finish");
    const usage = first.events.filter((event) => event.type === "usage").at(-1);
    expect(usage?.type === "usage" && usage.usage.inputTokens).toBeGreaterThan(1000);

    const second = await turn(client, {
      chatId: first.chatId,
      model: "qwen3.7-plus",
      content: "And now?",
      parentId: responseIdOf(first.events) ?? null,
    });
    expect(second.error).toBeUndefined();
    expect(textOf(second.events)).toContain("Turn 2");
  });

  it("sends what the web app sends: SPA headers, token as bearer and cookie, one message", async () => {
    fake.clearRequests();
    const client = clientFor(account.token, { identity: { spaVersion: "0.2.90" } });
    await turn(client, { model: "qwen3.7-plus", content: "hello" });
    await turn(client, { model: "qwen3.7-plus", content: "hello again" });
    const [first, second] = completionRequests();
    expect(first?.headers).toMatchObject({
      authorization: `Bearer ${account.token}`,
      version: "0.2.90",
      source: "web",
      accept: "text/event-stream",
    });
    expect(first?.headers.cookie).toContain(`token=${account.token}`);
    expect(first?.headers["bx-v"]).toBeTruthy();
    expect(first?.headers.timezone).toMatch(/GMT/);
    expect(first?.headers["x-request-id"]).not.toBe(second?.headers["x-request-id"]);
    const body = first?.body as { messages: Array<{ feature_config: Record<string, unknown> }> };
    expect(body.messages).toHaveLength(1);
    expect(body.messages[0]?.feature_config.output_schema).toBe("phase");
  });

  it("streams thinking as reasoning, each thought once, before the answer", async () => {
    const { events, error } = await turn(clientFor(account.token), {
      model: "qwen3.7-plus",
      content: "think first",
      thinking: true,
    });
    expect(error).toBeUndefined();
    const reasoning = reasoningOf(events);
    expect(reasoning.length).toBeGreaterThan(0);
    const paragraphs = reasoning.split("\n\n").filter((paragraph) => paragraph.trim() !== "");
    expect(new Set(paragraphs).size).toBe(paragraphs.length);
    const kinds = events.map((event) => event.type);
    expect(kinds.lastIndexOf("reasoning-delta")).toBeLessThan(kinds.indexOf("text-delta"));
    expect(textOf(events)).toContain("Turn 1");
  });

  it("a model that needs thinking fails without it and works with it", async () => {
    const client = clientFor(account.token);
    const without = await turn(client, { model: "qwen3.8-max", content: "hi" });
    expect(without.error?.code).toBe("bad_request");
    const withThinking = await turn(client, { model: "qwen3.8-max", content: "hi", thinking: true });
    expect(withThinking.error).toBeUndefined();
    expect(textOf(withThinking.events)).toContain("Turn 1");
  });

  it("web search yields sources and a cited answer", async () => {
    const { events, error } = await turn(clientFor(account.token), {
      model: "qwen3.7-plus",
      content: "news?",
      search: true,
    });
    expect(error).toBeUndefined();
    const results = events.flatMap((event) => (event.type === "search-results" ? event.results : []));
    expect(results.length).toBeGreaterThan(0);
    expect(new Set(results.map((result) => result.url)).size).toBe(results.length);
    expect(textOf(events)).toContain("[[1]]");
  });

  it("image generation yields a URL that can be fetched", async () => {
    const { events, error } = await turn(clientFor(account.token), {
      model: "qwen3.7-plus",
      content: "a red fox",
      chatType: "t2i",
      size: "16:9",
    });
    expect(error).toBeUndefined();
    const image = events.find((event) => event.type === "image");
    expect(image?.type === "image" && image.url).toMatch(/\?key=/);
    if (image?.type !== "image") return;
    const response = await fetch(image.url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("image/png");
  });

  it("video generation yields a task that the same account polls to a URL", async () => {
    const client = clientFor(account.token);
    const { events, error } = await turn(client, {
      model: "qwen3.7-plus",
      content: "waves",
      chatType: "t2v",
    });
    expect(error).toBeUndefined();
    const task = events.find((event) => event.type === "video-task");
    if (task?.type !== "video-task") throw new Error("no video task");
    const states: string[] = [];
    for (let poll = 0; poll < 10; poll++) {
      const status = await client.getTaskStatus(task.taskId);
      states.push(status.state);
      if (status.state === "success") {
        expect(status.url).toMatch(/^http/);
        break;
      }
    }
    expect(states.at(-1)).toBe("success");
    expect(states[0]).toBe("pending");
    await expect(clientFor(other.token).getTaskStatus(task.taskId)).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("another account cannot continue this account's chat", async () => {
    const mine = await turn(clientFor(account.token), { model: "qwen3.7-plus", content: "mine" });
    const result = await collect(
      clientFor(other.token).streamCompletion({
        chatId: mine.chatId,
        model: "qwen3.7-plus",
        content: "theirs",
        parentId: responseIdOf(mine.events) ?? null,
      }),
    );
    expect(result.error?.code).toBe("chat_not_found");
    expect(result.error?.retryable).toBe(true);
  });

  it("lists, reads and deletes upstream chats; deleting twice is fine", async () => {
    const client = clientFor(account.token);
    const { chatId } = await turn(client, { model: "qwen3.7-plus", content: "keep me" });
    const chats = await client.listChats();
    expect(chats.map((chat) => chat.id)).toContain(chatId);
    const detail = await client.getChat(chatId);
    expect(JSON.stringify(detail)).toContain("keep me");
    await client.deleteChat(chatId);
    await client.deleteChat(chatId);
    expect((await client.listChats()).map((chat) => chat.id)).not.toContain(chatId);
  });
});

describe("accounts and models", () => {
  it("lists models with capabilities, gzip-encoded, without a token", async () => {
    const client = new QwenClient({ baseUrl: fake.url, transport });
    const models = await client.listModels();
    const plus = models.find((model) => model.id === "qwen3.7-plus");
    expect(plus?.capabilities).toMatchObject({
      thinking: true,
      vision: true,
      search: true,
      imageGeneration: true,
    });
    expect(models.find((model) => model.id === "qwen3.8-max")?.thinkingRequired).toBe(true);
    expect(models.some((model) => !model.active)).toBe(true);
  });

  it("a 200 that names a failure in x-actual-status-code is that failure", async () => {
    const hiding: Transport = {
      kind: "direct",
      request: async (request) => {
        const response = await transport.request(request);
        return { ...response, headers: { ...response.headers, "x-actual-status-code": "401" } };
      },
      close: async () => {},
    };
    const client = clientFor(fake.addAccount().token, { transport: hiding });
    await expect(client.listChats()).rejects.toMatchObject({ code: "unauthorized" });
  });

  it("a refused token does not hide the model list, and a moved list is read from v2", async () => {
    const client = clientFor(fake.addAccount().token);
    fake.clearRequests();
    fake.setScenario(
      { kind: "http-error", status: 401, body: '{"detail":"Unauthorized"}' },
      { times: 1, route: "models" },
    );
    const models = await client.listModels();
    expect(models.some((model) => model.id === "qwen3.7-plus")).toBe(true);
    const listCalls = fake.requests.filter((request) => request.path === "/api/models");
    expect(listCalls.map((request) => request.headers.authorization === undefined)).toEqual([false, true]);

    fake.setScenario(
      { kind: "http-error", status: 404, body: '{"detail":"Not Found"}' },
      { times: 1, route: "models" },
    );
    const fromV2 = await client.listModels();
    expect(fromV2.map((model) => model.id)).toContain("qwen3.7-plus");
    expect(fake.requests.at(-1)?.path).toBe("/api/v2/models");
    fake.clearScenario();
  });

  it("signs in with a password (sent hashed) and the token works", async () => {
    fake.clearRequests();
    const token = await signIn({
      baseUrl: fake.url,
      transport,
      email: "alice@example.com",
      password: "correct horse",
    });
    const sent = fake.requests.find((request) => request.path === "/api/v1/auths/signin");
    expect(JSON.stringify(sent?.body)).not.toContain("correct horse");
    expect(tokenExpiry(token)?.getTime()).toBeGreaterThan(Date.now() + 7 * 86_400_000);
    const user = await clientFor(token).getCurrentUser();
    expect(user).toMatchObject({ email: "alice@example.com", role: "user" });
    await expect(
      signIn({ baseUrl: fake.url, transport, email: "alice@example.com", password: "wrong" }),
    ).rejects.toMatchObject({ code: "unauthorized" });
  });

  it("an unknown or expired token is unauthorized", async () => {
    await expect(clientFor("not-a-token").getCurrentUser()).rejects.toMatchObject({ code: "unauthorized" });
    const expired = fake.issueToken(account.id, { expiresInSeconds: -60 });
    await expect(clientFor(expired).getCurrentUser()).rejects.toMatchObject({ code: "unauthorized" });
  });

  it("a stale SPA version makes chat creation fail with a hint", async () => {
    const client = clientFor(account.token, { identity: { spaVersion: "0.1.0" } });
    await expect(client.createChat({ model: "qwen3.7-plus" })).rejects.toThrow(/QWEN_SPA_VERSION/);
  });
});

describe("every upstream failure becomes a typed error", () => {
  async function failing(content = "hello") {
    const token = fake.issueToken(account.id);
    const client = clientFor(token, { idleTimeoutMs: 300 });
    const chatId = await client.createChat({ model: "qwen3.7-plus" });
    return collect(client.streamCompletion({ chatId, model: "qwen3.7-plus", content }));
  }

  it.each([
    [{ kind: "waf" }, "waf_challenge"],
    [{ kind: "rate-limited", hours: 3, shape: "v2" }, "rate_limited"],
    [{ kind: "rate-limited", hours: 5, shape: "v1" }, "rate_limited"],
    [{ kind: "rate-limited", hours: 1, shape: "http429" }, "rate_limited"],
    [{ kind: "token-revoked" }, "unauthorized"],
    [{ kind: "empty-stream" }, "empty_response"],
    [{ kind: "no-answer" }, "empty_response"],
    [{ kind: "drop-mid-answer", afterDeltas: 3 }, "incomplete_response"],
    [{ kind: "moderation", where: "input" }, "moderation"],
    [{ kind: "moderation", where: "output" }, "moderation"],
    [{ kind: "quota" }, "quota_exceeded"],
    [{ kind: "internal-error" }, "upstream_internal"],
    [
      { kind: "http-error", status: 502, body: "<html>Bad Gateway</html>", contentType: "text/html" },
      "upstream_error",
    ],
    [{ kind: "slow-chunks", delayMs: 1500 }, "timeout"],
  ] as const)("%j → %s", async (scenario, code) => {
    fake.setScenario(scenario, { times: 1 });
    const { events, error } = await failing();
    expect(error).toBeInstanceOf(QwenError);
    expect(error?.code).toBe(code);
    if (scenario.kind === "rate-limited" && scenario.shape !== "http429") {
      expect(error?.retryAfterMs).toBe(scenario.hours * 3_600_000);
    }
    if (scenario.kind === "drop-mid-answer") expect(textOf(events).length).toBeGreaterThan(0);
    if (scenario.kind === "waf") expect(textOf(events)).toBe("");
  });

  it.each(["choices", "data-content"] as const)(
    "a JSON completion (%s) instead of SSE is still an answer",
    async (shape) => {
      fake.setScenario({ kind: "json-completion", shape }, { times: 1 });
      const { events, error } = await failing("json please");
      expect(error).toBeUndefined();
      expect(textOf(events).length).toBeGreaterThan(0);
      expect(events.at(-1)?.type).toBe("finish");
    },
  );

  it("slow chunks within the idle limit still complete", async () => {
    fake.setScenario({ kind: "slow-chunks", delayMs: 40 }, { times: 1 });
    const { events, error } = await failing("slowly");
    expect(error).toBeUndefined();
    expect(textOf(events)).toContain("slowly");
  });

  it("aborting mid-stream stops at once with `aborted`", async () => {
    fake.setScenario({ kind: "slow-chunks", delayMs: 400 }, { times: 1 });
    const client = clientFor(account.token);
    const chatId = await client.createChat({ model: "qwen3.7-plus" });
    const controller = new AbortController();
    const started = Date.now();
    const stream = client.streamCompletion(
      { chatId, model: "qwen3.7-plus", content: "a long answer please" },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 100);
    const { error } = await collect(stream);
    expect(error?.code).toBe("aborted");
    // The whole answer would take many seconds at this pace.
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
