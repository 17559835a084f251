import { describe, expect, it } from "vitest";
import { DEFAULT_IDENTITY, resolveIdentity } from "./browser-identity.js";
import { buildCompletionBody } from "./completion-request.js";
import { browserTimezone, buildHeaders } from "./headers.js";
import { buildNewChatBody, readNewChatId } from "./new-chat-request.js";

describe("completion body", () => {
  it("a first turn: one message, no parent, phases on, thinking and tools off", () => {
    const body = buildCompletionBody(
      { chatId: "chat-1", model: "qwen3.7-plus", content: "Hello" },
      1_780_468_837_123,
    );
    expect(body).toMatchObject({
      stream: true,
      version: "2.1",
      incremental_output: true,
      chat_id: "chat-1",
      chat_mode: "normal",
      model: "qwen3.7-plus",
      parent_id: null,
      timestamp: 1_780_468_837,
    });
    const messages = body.messages as Record<string, unknown>[];
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message).toMatchObject({
      role: "user",
      content: "Hello",
      parentId: null,
      parent_id: null,
      user_action: "chat",
      files: [],
      chat_type: "t2t",
      sub_chat_type: "t2t",
      models: ["qwen3.7-plus"],
      extra: { meta: { subChatType: "t2t" } },
      feature_config: {
        output_schema: "phase",
        thinking_enabled: false,
        auto_search: false,
        function_calling: false,
      },
    });
    expect(message?.fid).toMatch(/^[0-9a-f-]{36}$/);
    expect(message?.childrenIds).toHaveLength(1);
  });

  it("a continued thread names the parent in all three places", () => {
    const body = buildCompletionBody({ chatId: "c", model: "m", content: "next", parentId: "resp-1" });
    const [message] = body.messages as Record<string, unknown>[];
    expect(body.parent_id).toBe("resp-1");
    expect(message?.parentId).toBe("resp-1");
    expect(message?.parent_id).toBe("resp-1");
  });

  it("thinking, search and a budget switch the feature flags", () => {
    const body = buildCompletionBody({
      chatId: "c",
      model: "m",
      content: "x",
      thinking: true,
      search: true,
      thinkingBudget: 1024,
    });
    const [message] = body.messages as Record<string, unknown>[];
    expect(message?.chat_type).toBe("search");
    expect(message?.feature_config).toMatchObject({
      thinking_enabled: true,
      thinking_mode: "Thinking",
      thinking_budget: 1024,
      auto_search: true,
    });
  });

  it("video does not stream; images carry their ratio", () => {
    expect(buildCompletionBody({ chatId: "c", model: "m", content: "a cat", chatType: "t2v" }).stream).toBe(
      false,
    );
    const image = buildCompletionBody({
      chatId: "c",
      model: "m",
      content: "a cat",
      chatType: "t2i",
      size: "16:9",
    });
    expect(image.stream).toBe(true);
    expect(image.size).toBe("16:9");
    const [message] = image.messages as Record<string, unknown>[];
    expect(message?.extra).toEqual({ meta: { subChatType: "t2i", size: "16:9" } });
  });
});

describe("headers", () => {
  it("carry the SPA identity, a fresh request id and the token twice", () => {
    const options = {
      identity: DEFAULT_IDENTITY,
      credentials: { token: "jwt-token", cookies: { cna: "abc" }, extraHeaders: { "BX-UA": "captured" } },
      baseUrl: "https://chat.qwen.ai/",
      refererPath: "/c/chat-1",
      accept: "stream" as const,
      hasJsonBody: true,
    };
    const first = buildHeaders(options);
    const second = buildHeaders(options);
    expect(first).toMatchObject({
      authorization: "Bearer jwt-token",
      source: "web",
      version: DEFAULT_IDENTITY.spaVersion,
      "bx-v": DEFAULT_IDENTITY.bxVersion,
      origin: "https://chat.qwen.ai",
      referer: "https://chat.qwen.ai/c/chat-1",
      accept: "text/event-stream",
      "content-type": "application/json",
      "x-accel-buffering": "no",
      "bx-ua": "captured",
    });
    expect(first.cookie).toBe("cna=abc; token=jwt-token");
    expect(first["x-request-id"]).not.toBe(second["x-request-id"]);
  });

  it("the SPA version and user agent are configurable", () => {
    const identity = resolveIdentity({ spaVersion: "0.3.1", userAgent: "UA/1", bxVersion: undefined });
    expect(identity.spaVersion).toBe("0.3.1");
    expect(identity.userAgent).toBe("UA/1");
    expect(identity.bxVersion).toBe(DEFAULT_IDENTITY.bxVersion);
  });

  it("timezone looks like Date.toString() and is pure ASCII", () => {
    const value = browserTimezone(new Date("2026-11-25T12:00:00Z"));
    expect(value).toMatch(/^\w{3} \w{3} \d{2} 2026 \d{2}:\d{2}:\d{2} GMT[+-]\d{4}$/);
  });
});

describe("new chat", () => {
  it("body and every known place of the id in the answer", () => {
    expect(buildNewChatBody({ model: "qwen3.7-plus" }, 5)).toEqual({
      title: "New Chat",
      models: ["qwen3.7-plus"],
      chat_mode: "normal",
      chat_type: "t2t",
      timestamp: 5,
      project_id: "",
    });
    expect(readNewChatId({ success: true, data: { id: "a" } })).toBe("a");
    expect(readNewChatId({ id: "b" })).toBe("b");
    expect(readNewChatId({ data: { chat: { id: "c" } } })).toBe("c");
    expect(readNewChatId({ success: true, data: {} })).toBeUndefined();
  });
});
