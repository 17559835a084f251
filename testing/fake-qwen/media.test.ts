import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "./index.js";
import {
  answerOf,
  completionBody,
  createChat,
  type Delta,
  deltaOf,
  postCompletion,
  readSse,
  responseIdOf,
  spaHeaders,
} from "./test-support.js";

describe("fake-qwen media generation", () => {
  let fake: FakeQwen;
  let alice: ReturnType<FakeQwen["addAccount"]>;
  let bob: ReturnType<FakeQwen["addAccount"]>;
  let chatId: string;

  beforeAll(async () => {
    fake = await startFakeQwen({ chunkDelayMs: 0 });
    alice = fake.addAccount();
    bob = fake.addAccount();
    chatId = await createChat(fake, alice.token);
  });
  afterAll(() => fake.close());

  it("t2i streams image_gen deltas carrying the full signed image URL", async () => {
    const body = completionBody(chatId, { text: "a cat", chatType: "t2i", size: "16:9" });
    const capture = await readSse(await postCompletion(fake, alice.token, chatId, body));
    const responseId = responseIdOf(capture);
    const imageEvents = capture.events.filter((event) => deltaOf(event)?.phase === "image_gen");
    const typing = imageEvents.filter((event) => deltaOf(event)?.status === "typing");
    expect(typing.length).toBeGreaterThan(0);
    const delta = deltaOf(typing[0] as Record<string, unknown>) as Delta;
    const url = delta.content ?? "";
    expect(url).toMatch(
      new RegExp(
        `^${fake.url}/output/${alice.id}/t2i/${responseId}/\\d+\\.png\\?key=[\\w-]+\\.[\\w-]+\\.[\\w-]+$`,
      ),
    );
    expect(delta.extra).toEqual({ output_image_hw: [[928, 1664]] });
    expect(typing[0]?.usage).toEqual({
      input_tokens: 0,
      output_tokens: 0,
      characters: 0,
      width: 1664,
      height: 928,
      image_count: 1,
    });
    expect(deltaOf(capture.events.at(-1) as Record<string, unknown>)).toMatchObject({
      phase: "image_gen",
      status: "finished",
    });

    const image = await fetch(url);
    expect(image.status).toBe(200);
    expect(image.headers.get("content-type")).toBe("image/png");
    expect([...new Uint8Array(await image.arrayBuffer()).slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect((await fetch(url.split("?")[0] as string)).status).toBe(403);
    expect((await fetch(`${url.split("?")[0]}?key=${alice.token}`)).status).toBe(403);
  });

  it("t2v needs stream:false and returns a task id that polls to a video URL", async () => {
    const streaming = await postCompletion(
      fake,
      alice.token,
      chatId,
      completionBody(chatId, { text: "a wave", chatType: "t2v", stream: true }),
    );
    expect(await streaming.json()).toMatchObject({ success: false, data: { code: "Bad_Request" } });

    const response = await postCompletion(
      fake,
      alice.token,
      chatId,
      completionBody(chatId, { text: "a wave", chatType: "t2v", size: "16:9" }),
    );
    const json = (await response.json()) as {
      success: boolean;
      data: { message_id: string; model: string; messages: Array<{ extra: { wanx: { task_id: string } } }> };
    };
    expect(json.success).toBe(true);
    expect(json.data.model).toBe("qwen3.7-plus");
    const taskId = json.data.messages[0]?.extra.wanx.task_id as string;
    expect(taskId).toEqual(expect.any(String));

    const poll = async (token: string) =>
      (await (
        await fetch(`${fake.url}/api/v1/tasks/status/${taskId}`, { headers: spaHeaders(token) })
      ).json()) as Record<string, unknown>;
    expect(await poll(bob.token)).toMatchObject({ success: false, data: { code: "not found" } });
    expect(await poll(alice.token)).toMatchObject({ chat_type: "t2v", task_status: "pending" });
    expect(await poll(alice.token)).toMatchObject({ task_status: "running" });
    const done = await poll(alice.token);
    expect(done).toMatchObject({ task_status: "success" });
    expect(done).not.toHaveProperty("data");
    const videoUrl = done.content as string;
    expect(videoUrl).toMatch(new RegExp(`^${fake.url}/output/${alice.id}/t2v/${taskId}/video\\.mp4\\?key=`));
    const video = await fetch(videoUrl);
    expect(video.headers.get("content-type")).toBe("video/mp4");
    expect(
      Buffer.from(await video.arrayBuffer())
        .subarray(4, 8)
        .toString("latin1"),
    ).toBe("ftyp");
  });
});

describe("fake-qwen media replies without their media (media-without-id)", () => {
  let fake: FakeQwen;
  let alice: ReturnType<FakeQwen["addAccount"]>;

  beforeAll(async () => {
    fake = await startFakeQwen({ chunkDelayMs: 0 });
    alice = fake.addAccount();
  });
  afterEach(() => {
    fake.clearScenario();
    fake.setChatDetailShape("array");
  });
  afterAll(() => fake.close());

  const detailOf = async (chatId: string) => {
    const response = await fetch(`${fake.url}/api/v2/chats/${chatId}`, { headers: spaHeaders(alice.token) });
    return ((await response.json()) as { data: ChatDetail }).data;
  };
  const poll = async (taskId: string, version = "v1") =>
    (await (
      await fetch(`${fake.url}/api/${version}/tasks/status/${taskId}`, { headers: spaHeaders(alice.token) })
    ).json()) as Record<string, unknown>;
  const postVideo = async (chatId: string) => {
    const response = await postCompletion(
      fake,
      alice.token,
      chatId,
      completionBody(chatId, { text: "a wave", chatType: "t2v", size: "16:9" }),
    );
    return (await response.json()) as { success: boolean; data: Record<string, unknown> };
  };

  it("t2v answers success without extra.wanx; the detail's assistant message has the task id, which polls as usual", async () => {
    const chatId = await createChat(fake, alice.token);
    fake.setScenario({ kind: "media-without-id" }, { times: 1 });
    const json = await postVideo(chatId);
    expect(json.success).toBe(true);
    expect(json.data).toMatchObject({ message_id: expect.any(String), model: "qwen3.7-plus" });
    expect(json.data.messages).toEqual([{ role: "assistant", content: "", extra: {} }]);
    expect(JSON.stringify(json)).not.toContain("task_id");

    const detail = await detailOf(chatId);
    expect(detail.chat.history.messages).toEqual({});
    const assistant = detail.chat.messages.at(-1) as WireMessage;
    expect(assistant).toMatchObject({ role: "assistant", id: json.data.message_id });
    const taskId = (assistant.extra as { wanx: { task_id: string } }).wanx.task_id;
    expect(taskId).toEqual(expect.any(String));
    expect(await poll(taskId)).toMatchObject({ task_status: "pending" });
    expect(await poll(taskId)).toMatchObject({ task_status: "running" });
    const done = await poll(taskId);
    expect(done).toMatchObject({ task_status: "success" });
    expect(done.content).toMatch(
      new RegExp(`^${fake.url}/output/${alice.id}/t2v/${taskId}/video\\.mp4\\?key=`),
    );

    // times: 1 is spent: the next video has its task id in the answer again.
    const next = await postVideo(chatId);
    expect(next.data.messages).toEqual([
      expect.objectContaining({ extra: { wanx: { task_id: expect.any(String) } } }),
    ]);
  });

  it("t2i streams created and a finished image_gen event but no URL; the detail has the URL in content and content_list", async () => {
    const chatId = await createChat(fake, alice.token);
    fake.setScenario({ kind: "media-without-id" }, { times: 1 });
    const body = completionBody(chatId, { text: "a cat", chatType: "t2i", size: "1:1" });
    const capture = await readSse(await postCompletion(fake, alice.token, chatId, body));
    const responseId = responseIdOf(capture);
    expect(capture.events).toHaveLength(2);
    expect(deltaOf(capture.events[1] as Record<string, unknown>)).toMatchObject({
      phase: "image_gen",
      status: "finished",
      content: "",
    });
    expect(capture.raw).not.toContain("/output/");

    const assistant = (await detailOf(chatId)).chat.messages.at(-1) as WireMessage;
    expect(assistant).toMatchObject({ role: "assistant", id: responseId });
    const url = assistant.content as string;
    expect(url).toMatch(new RegExp(`^${fake.url}/output/${alice.id}/t2i/${responseId}/\\d+\\.png\\?key=`));
    expect(assistant.content_list).toContainEqual({
      phase: "image_gen",
      content: url,
      status: "finished",
      extra: { output_image_hw: [[1328, 1328]] },
    });
    const image = await fetch(url);
    expect(image.status).toBe(200);
    expect(image.headers.get("content-type")).toBe("image/png");
  });

  it('detail: "none" leaves the chat detail without task id or URL, and creates no task', async () => {
    const chatId = await createChat(fake, alice.token);
    fake.setScenario({ kind: "media-without-id", detail: "none" }, { times: 2 });
    const video = await postVideo(chatId);
    expect(video.data.messages).toEqual([{ role: "assistant", content: "", extra: {} }]);
    const body = completionBody(chatId, {
      text: "a cat",
      chatType: "t2i",
      size: "1:1",
      parentId: video.data.message_id as string,
    });
    const capture = await readSse(await postCompletion(fake, alice.token, chatId, body));
    expect(capture.raw).not.toContain("/output/");

    const detail = JSON.stringify(await detailOf(chatId));
    expect(detail).not.toContain("task_id");
    expect(detail).not.toContain("/output/");
  });

  it("text requests answer as usual and leave the scenario for the next media request", async () => {
    const chatId = await createChat(fake, alice.token);
    fake.setScenario({ kind: "media-without-id" }, { times: 1 });
    const text = await readSse(
      await postCompletion(fake, alice.token, chatId, completionBody(chatId, { text: "Hello" })),
    );
    expect(answerOf(text.events)).toContain("You said: «Hello»");
    const video = await postVideo(chatId);
    expect(JSON.stringify(video)).not.toContain("task_id");
  });

  it("setChatDetailShape('map') keeps the history in the id map, oldest first, and empties the array", async () => {
    const chatId = await createChat(fake, alice.token);
    fake.setScenario({ kind: "media-without-id" }, { times: 1 });
    const video = await postVideo(chatId);
    fake.setChatDetailShape("map");
    const detail = await detailOf(chatId);
    expect(detail.chat.messages).toEqual([]);
    const messages = Object.values(detail.chat.history.messages);
    expect(Object.keys(detail.chat.history.messages)).toEqual(messages.map((message) => message.id));
    expect(messages.map((message) => message.role)).toEqual(["user", "assistant"]);
    expect(messages[1]).toMatchObject({
      id: video.data.message_id,
      extra: { wanx: { task_id: expect.any(String) } },
    });
    expect(detail.chat.history.currentId).toBe(video.data.message_id);
  });
});

describe("fake-qwen task status route switch", () => {
  let fake: FakeQwen;
  let alice: ReturnType<FakeQwen["addAccount"]>;

  beforeAll(async () => {
    fake = await startFakeQwen({ chunkDelayMs: 0, taskPollsToSuccess: 2 });
    alice = fake.addAccount();
  });
  afterAll(() => fake.close());

  /** Starts a video on `on` (default: this suite's fake, as alice) and returns its task id. */
  const newTask = async (on: FakeQwen = fake, token = alice.token) => {
    const chatId = await createChat(on, token);
    const response = await postCompletion(
      on,
      token,
      chatId,
      completionBody(chatId, { text: "a wave", chatType: "t2v", size: "16:9" }),
    );
    const json = (await response.json()) as {
      data: { messages: Array<{ extra: { wanx: { task_id: string } } }> };
    };
    return json.data.messages[0]?.extra.wanx.task_id as string;
  };
  const get = (version: string, taskId: string, token: string | null = alice.token) =>
    fetch(`${fake.url}/api/${version}/tasks/status/${taskId}`, {
      headers: token ? spaHeaders(token) : { version: "0.2.83" },
    });

  it("only one of /api/v1 and /api/v2 tasks/status exists; the other is an HTTP 404, even without a token", async () => {
    const taskId = await newTask();
    // Default: v1 only, as before.
    const v2 = await get("v2", taskId);
    expect(v2.status).toBe(404);
    expect(await v2.json()).toEqual({ detail: "Not Found" });

    fake.setTaskStatusRoute("v2");
    const v1 = await get("v1", taskId);
    expect(v1.status).toBe(404);
    expect(await v1.json()).toEqual({ detail: "Not Found" });
    expect((await get("v1", taskId, null)).status).toBe(404);
    expect((await get("v2", taskId, null)).status).toBe(401);

    // taskPollsToSuccess: 2 → pending, then success; 404s count as no poll.
    const first = await get("v2", taskId);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ task_id: taskId, chat_type: "t2v", task_status: "pending" });
    expect(await (await get("v2", taskId)).json()).toMatchObject({
      task_status: "success",
      content: expect.stringContaining(`/output/${alice.id}/t2v/${taskId}/video.mp4?key=`),
    });

    fake.setTaskStatusRoute("v1");
    expect((await get("v2", taskId)).status).toBe(404);
    expect(await (await get("v1", taskId)).json()).toMatchObject({ task_status: "success" });
  });

  it("taskPollsToSuccess: 1 reports success at the first poll", async () => {
    const quick = await startFakeQwen({ chunkDelayMs: 0, taskPollsToSuccess: 1 });
    try {
      const account = quick.addAccount();
      const taskId = await newTask(quick, account.token);
      const status = await fetch(`${quick.url}/api/v1/tasks/status/${taskId}`, {
        headers: spaHeaders(account.token),
      });
      expect(await status.json()).toMatchObject({
        task_status: "success",
        content: expect.stringContaining("video.mp4"),
      });
    } finally {
      await quick.close();
    }
  });
});

interface WireMessage {
  id: string;
  role: string;
  content: unknown;
  content_list?: unknown[];
  extra?: Record<string, unknown>;
}

interface ChatDetail {
  chat: {
    history: { messages: Record<string, WireMessage>; currentId: string | null };
    messages: WireMessage[];
  };
}
