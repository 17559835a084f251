import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RequestLogEntry } from "../../../testing/fake-qwen/types.js";
import { apiFailure, type Harness, type RunningProxy, startHarness } from "../../../testing/proxy-harness.js";

// Media replies that come back without their task id or URL (§4.5) are looked up in the
// upstream chat's detail, end to end through the OpenAI SDK: the fake's `media-without-id`
// scenario answers a t2v request with no `extra.wanx` and a t2i stream with no image, while
// the chat detail still has them. Video tasks finish at their first poll here, so no test
// waits for the proxy's polling interval.

const VIDEO_MODEL = "qwen3.7-plus-video";
const IMAGE_MODEL = "qwen3.7-plus-image";

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ fake: { taskPollsToSuccess: 1 } });
});

afterEach(() => {
  harness.fake.clearScenario();
  harness.fake.setTaskStatusRoute("v1");
  harness.fake.setChatDetailShape("array");
});

afterAll(async () => {
  await harness?.close();
});

/** A proxy of its own on a fresh upstream account, so its upstream requests can be told apart. */
async function isolatedProxy(): Promise<{ proxy: RunningProxy; requests: () => RequestLogEntry[] }> {
  const account = harness.fake.addAccount();
  const proxy = await harness.startProxy({ tokens: [account.token] });
  return {
    proxy,
    requests: () => harness.fake.requests.filter((entry) => entry.accountId === account.id),
  };
}

function ask(client: OpenAI, model: string, content = "a wave at sunset") {
  return client.chat.completions.create({ model, messages: [{ role: "user", content }] });
}

const paths = (entries: RequestLogEntry[]) => entries.map((entry) => `${entry.method} ${entry.path}`);
const completions = (entries: RequestLogEntry[]) =>
  entries.filter((entry) => entry.path === "/api/v2/chat/completions");
const chatDetails = (entries: RequestLogEntry[]) =>
  entries.filter((entry) => entry.method === "GET" && /^\/api\/v2\/chats\/[^/]+$/.test(entry.path));
const taskPolls = (entries: RequestLogEntry[]) =>
  entries.filter((entry) => /^\/api\/v[12]\/tasks\/status\//.test(entry.path));

function videoUrlPattern(fakeUrl: string): RegExp {
  return new RegExp(`^${fakeUrl}/output/[\\w-]+/t2v/[\\w-]+/video\\.mp4\\?key=[\\w.-]+$`);
}

describe("a video job upstream accepted", () => {
  it("is never submitted again when polling it fails: one job, and an error", async () => {
    const { proxy, requests } = await isolatedProxy();
    harness.fake.setScenario({ kind: "http-error", status: 503, body: "busy" }, { route: "tasks", times: 1 });
    const error = await apiFailure(ask(proxy.client(), VIDEO_MODEL));
    expect(error.status).toBe(502);
    expect(completions(requests())).toHaveLength(1);
    harness.fake.clearScenario();
  });
});

describe("a video reply without its task id", () => {
  it("still answers the video URL: the task id comes from the chat detail and is polled", async () => {
    const { proxy, requests } = await isolatedProxy();
    harness.fake.setScenario({ kind: "media-without-id" });
    const completion = await ask(proxy.client(), VIDEO_MODEL);

    const content = completion.choices[0]!.message.content ?? "";
    expect(content).toMatch(videoUrlPattern(harness.fake.url));
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    const log = requests();
    // Looked up, not retried: one completion, then the chat detail, then the task.
    expect(completions(log)).toHaveLength(1);
    const upstreamChatId = completions(log)[0]!.query.chat_id;
    expect(chatDetails(log).map((entry) => entry.path)).toEqual([`/api/v2/chats/${upstreamChatId}`]);
    expect(taskPolls(log)).toHaveLength(1);
    expect(content).toContain(taskPolls(log)[0]!.path.split("/").at(-1));
    const video = await fetch(content);
    expect(video.headers.get("content-type")).toBe("video/mp4");
  });

  it("still answers the video URL when the detail keeps the history in the older id map", async () => {
    const { proxy } = await isolatedProxy();
    harness.fake.setScenario({ kind: "media-without-id" });
    harness.fake.setChatDetailShape("map");
    const completion = await ask(proxy.client(), VIDEO_MODEL);
    expect(completion.choices[0]!.message.content).toMatch(videoUrlPattern(harness.fake.url));
  });

  it("streams the video URL too", async () => {
    const { proxy } = await isolatedProxy();
    harness.fake.setScenario({ kind: "media-without-id" });
    const stream = await proxy.client().chat.completions.create({
      model: VIDEO_MODEL,
      messages: [{ role: "user", content: "a wave" }],
      stream: true,
    });
    let content = "";
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
    expect(content).toMatch(videoUrlPattern(harness.fake.url));
  });

  it("in a continued chat, a turn gets its own video, never an earlier turn's", async () => {
    const { proxy, requests } = await isolatedProxy();
    const client = proxy.client();
    const firstTurn: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "a wave" }];
    const first = await client.chat.completions.create({ model: VIDEO_MODEL, messages: firstTurn });
    const firstUrl = first.choices[0]!.message.content ?? "";
    expect(firstUrl).toMatch(videoUrlPattern(harness.fake.url));
    const secondTurn: OpenAI.ChatCompletionMessageParam[] = [
      ...firstTurn,
      { role: "assistant", content: firstUrl },
      { role: "user", content: "a second wave" },
    ];

    // The detail's newest assistant message has nothing: the first video must not come back.
    harness.fake.setScenario({ kind: "media-without-id", detail: "none" }, { times: 1 });
    const error = await apiFailure(
      client.chat.completions.create({ model: VIDEO_MODEL, messages: secondTurn }),
    );
    expect(error.status).toBe(502);

    // Asked again: the newest assistant message has its own task, and that video is the answer.
    harness.fake.setScenario({ kind: "media-without-id" }, { times: 1 });
    const second = await client.chat.completions.create({ model: VIDEO_MODEL, messages: secondTurn });
    const secondUrl = second.choices[0]!.message.content ?? "";
    expect(secondUrl).toMatch(videoUrlPattern(harness.fake.url));
    expect(secondUrl).not.toBe(firstUrl);

    // Both later turns continued the first one's upstream chat, whose detail held the first video.
    const turns = completions(requests());
    expect(turns).toHaveLength(3);
    expect(new Set(turns.map((entry) => entry.query.chat_id)).size).toBe(1);
    const detail = harness.fake.requests.filter(
      (entry) => entry.path === `/api/v2/chats/${turns[0]!.query.chat_id}`,
    );
    expect(detail).toHaveLength(2);
  });

  // The reply's id comes from the detail, so the thread goes on.
  it("the turn after a video found in the chat detail continues the same upstream chat", async () => {
    const { proxy, requests } = await isolatedProxy();
    const client = proxy.client();
    harness.fake.setScenario({ kind: "media-without-id" }, { times: 1 });
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "a wave" }];
    const first = await client.chat.completions.create({ model: VIDEO_MODEL, messages });
    messages.push(
      { role: "assistant", content: first.choices[0]!.message.content ?? "" },
      { role: "user", content: "a second wave" },
    );
    await client.chat.completions.create({ model: VIDEO_MODEL, messages });
    const [turn1, turn2] = completions(requests());
    expect(turn2!.query.chat_id).toBe(turn1!.query.chat_id);
    expect((turn2!.body as { parent_id?: unknown }).parent_id).toEqual(expect.any(String));
  });

  it("without a task id in the detail either, it is a 502, never a 200 with empty content", async () => {
    const { proxy, requests } = await isolatedProxy();
    harness.fake.setScenario({ kind: "media-without-id", detail: "none" });
    const error = await apiFailure(ask(proxy.client(), VIDEO_MODEL));
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error.status).toBe(502);
    expect(error.type).toBe("upstream_error");
    expect(chatDetails(requests()).length).toBeGreaterThan(0);
    expect(taskPolls(requests())).toEqual([]);
  });
});

describe("an image reply without its URL", () => {
  // The fake serves over http: the look-up takes the URLs the stream would.
  it("still answers the image markdown, from the URL in the chat detail", async () => {
    const { proxy, requests } = await isolatedProxy();
    harness.fake.setScenario({ kind: "media-without-id" });
    const completion = await ask(proxy.client(), IMAGE_MODEL, "a cat");

    const content = completion.choices[0]!.message.content ?? "";
    const log = requests();
    const upstreamChatId = completions(log)[0]!.query.chat_id;
    expect(chatDetails(log).map((entry) => entry.path)).toContain(`/api/v2/chats/${upstreamChatId}`);
    // Found by the look-up, not by a retry that happened to get a normal stream.
    expect(paths(completions(log))).toHaveLength(1);
    expect(content).toMatch(
      new RegExp(
        `^!\\[image\\]\\(${harness.fake.url}/output/[\\w-]+/t2i/[\\w-]+/\\d+\\.png\\?key=[\\w.-]+\\)$`,
      ),
    );
  });

  it("without a URL in the detail either, it is a 502, never a 200 with empty content", async () => {
    const { proxy } = await isolatedProxy();
    harness.fake.setScenario({ kind: "media-without-id", detail: "none" });
    // Streamed, where the failure must still be an HTTP 502 rather than a 200 that stays empty.
    const streamed = await apiFailure(
      (async () => {
        const stream = await proxy.client().chat.completions.create({
          model: IMAGE_MODEL,
          messages: [{ role: "user", content: "a dog" }],
          stream: true,
        });
        for await (const _chunk of stream) {
          // drained
        }
      })(),
    );
    expect(streamed).toBeInstanceOf(OpenAI.InternalServerError);
    expect(streamed.status).toBe(502);
  });
});

describe("task status on /api/v2", () => {
  it("the video still arrives when only /api/v2/tasks/status exists, and v2 is remembered", async () => {
    const { proxy, requests } = await isolatedProxy();
    harness.fake.setTaskStatusRoute("v2");
    const client = proxy.client();
    const first = await ask(client, VIDEO_MODEL);
    expect(first.choices[0]!.message.content).toMatch(videoUrlPattern(harness.fake.url));
    expect(paths(taskPolls(requests())).map((path) => path.replace(/[^/]+$/, ":id"))).toEqual([
      "GET /api/v1/tasks/status/:id",
      "GET /api/v2/tasks/status/:id",
    ]);

    // Same account, same client: straight to v2 now.
    const second = await ask(client, VIDEO_MODEL, "a second wave");
    expect(second.choices[0]!.message.content).toMatch(videoUrlPattern(harness.fake.url));
    expect(second.choices[0]!.message.content).not.toBe(first.choices[0]!.message.content);
    expect(
      taskPolls(requests())
        .slice(2)
        .map((entry) => entry.path.split("/")[2]),
    ).toEqual(["v2"]);
  });

  it("with a task id found only in the chat detail, polled on v2", async () => {
    const { proxy, requests } = await isolatedProxy();
    harness.fake.setTaskStatusRoute("v2");
    harness.fake.setScenario({ kind: "media-without-id" });
    const completion = await ask(proxy.client(), VIDEO_MODEL);
    expect(completion.choices[0]!.message.content).toMatch(videoUrlPattern(harness.fake.url));
    expect(taskPolls(requests()).at(-1)?.path).toMatch(/^\/api\/v2\/tasks\/status\//);
  });
});
