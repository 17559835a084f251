import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "./index.js";
import {
  type CompletionOptions,
  completeTurn,
  completionBody,
  createChat,
  postCompletion,
  readSse,
  spaHeaders,
} from "./test-support.js";

describe("fake-qwen completion rules", () => {
  let fake: FakeQwen;
  let alice: ReturnType<FakeQwen["addAccount"]>;
  let bob: ReturnType<FakeQwen["addAccount"]>;
  let aliceChat: string;

  beforeAll(async () => {
    fake = await startFakeQwen({ chunkDelayMs: 0 });
    alice = fake.addAccount();
    bob = fake.addAccount();
    aliceChat = await createChat(fake, alice.token);
  });
  afterAll(() => fake.close());

  /** Sends a request that must be refused with an HTTP 200 Bad_Request body. */
  async function expectBadRequest(
    body: Record<string, unknown>,
    details?: string | RegExp,
    token = alice.token,
  ) {
    const chatId = String(body.chat_id);
    const response = await postCompletion(fake, token, chatId, body);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    const json = (await response.json()) as {
      success: boolean;
      request_id: string;
      data: { code: string; details: string };
    };
    expect(json.success).toBe(false);
    expect(json.request_id).toEqual(expect.any(String));
    expect(json.data.code).toBe("Bad_Request");
    if (typeof details === "string") expect(json.data.details).toBe(details);
    else if (details) expect(json.data.details).toMatch(details);
  }
  const body = (options: CompletionOptions = {}) => completionBody(aliceChat, options);

  it("requires the version header", async () => {
    const response = await postCompletion(fake, alice.token, aliceChat, body(), {
      authorization: `Bearer ${alice.token}`,
      "content-type": "application/json",
    });
    expect(await response.json()).toMatchObject({ success: false, data: { code: "Bad_Request" } });
  });

  it("takes exactly one message", async () => {
    const message = (body().messages as unknown[])[0];
    await expectBadRequest(body({ messages: [message, message] }), "Invalid input too many messages");
    await expectBadRequest(body({ messages: [] }), /messages/);
  });

  it("refuses stream:false for text, search and image chats", async () => {
    await expectBadRequest(body({ stream: false }), /stream/);
    await expectBadRequest(body({ stream: false, chatType: "search" }), /stream/);
    await expectBadRequest(body({ stream: false, chatType: "t2i" }), /stream/);
  });

  it("only serves chats of the calling account, with matching chat ids", async () => {
    await expectBadRequest(body(), `Invalid input the chat ${aliceChat} is not exist.`, bob.token);
    const unknown = crypto.randomUUID();
    await expectBadRequest(completionBody(unknown), `Invalid input the chat ${unknown} is not exist.`);
    const otherChat = await createChat(fake, alice.token);
    const mismatched = { ...body(), chat_id: otherChat };
    const response = await postCompletion(fake, alice.token, aliceChat, mismatched);
    expect(await response.json()).toMatchObject({ success: false, data: { code: "Bad_Request" } });
  });

  it("accepts parent_id only from this chat's own responses", async () => {
    const otherChat = await createChat(fake, alice.token);
    const { responseId: elsewhere } = await completeTurn(fake, alice.token, otherChat);
    await expectBadRequest(body({ parentId: elsewhere }), /parent/);
    const bobChat = await createChat(fake, bob.token);
    const { responseId: bobs } = await completeTurn(fake, bob.token, bobChat);
    await expectBadRequest(body({ parentId: bobs }), /parent/);
    await expectBadRequest(body({ parentId: crypto.randomUUID() }), /parent/);
  });

  it("rejects image_gen, unknown models and unsupported modes", async () => {
    await expectBadRequest(body({ chatType: "image_gen" }), /image_gen/);
    await expectBadRequest(body({ model: "qwen9-ultra" }), /not found/);
    await expectBadRequest(body({ model: "qwen2.5-max" }), /not active/);
    await expectBadRequest(body({ model: "qwen3-coder", chatType: "search" }), /does not support/);
    const imagePart = [
      { type: "text", text: "what is this" },
      { type: "image", image: "https://cdn.example/x.png" },
    ];
    await expectBadRequest(body({ model: "qwen3-coder", content: imagePart }), /image/);
  });

  it("requires thinking for qwen3.8-max", async () => {
    const maxChat = await createChat(fake, alice.token, "qwen3.8-max");
    await expectBadRequest(completionBody(maxChat, { model: "qwen3.8-max" }), /thinking/);
    const response = await postCompletion(
      fake,
      alice.token,
      maxChat,
      completionBody(maxChat, {
        model: "qwen3.8-max",
        featureConfig: { thinking_enabled: true, output_schema: "phase", thinking_format: "summary" },
      }),
    );
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const capture = await readSse(response);
    expect(capture.raw).toContain("thinking_summary");
  });

  it("answers 401 for completions without a valid token", async () => {
    const response = await postCompletion(fake, "nope", aliceChat, body(), spaHeaders("nope"));
    expect(response.status).toBe(401);
    expect(await response.json()).toHaveProperty("detail");
  });
});
