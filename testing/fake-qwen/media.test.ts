import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "./index.js";
import {
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
