import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, completionRequests, expectError, getChat, TempDirs } from "../../../testing/native-harness.js";
import { type Harness, startHarness } from "../../../testing/proxy-harness.js";

// Bad input to the native API: every refusal is a 4xx in the `{error:{message,type,param,code}}`
// shape, names the field when there is one, and neither creates a chat, nor calls upstream,
// nor touches a file.

const BODY_LIMIT = 16 * 1024;
const UNKNOWN_ID = "3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c";

const dirs = new TempDirs();
let harness: Harness;
let url: string;
let root: string;
let dataDir: string;
/** A file a path traversal out of the data directory would reach. */
let sentinel: string;

beforeAll(async () => {
  root = dirs.make();
  dataDir = join(root, "data");
  sentinel = join(root, "sentinel.json");
  writeFileSync(sentinel, "do not touch");
  harness = await startHarness({ config: { dataDir, bodyLimit: BODY_LIMIT } });
  url = harness.url;
});

afterAll(async () => {
  await harness?.close();
  dirs.removeAll();
});

async function chatCount(): Promise<number> {
  return (await api(url, "GET", "/api/chats?limit=500")).body.total;
}

/** Runs `action`, and checks that it created no chat and made no upstream completion. */
async function withoutSideEffects(action: () => Promise<void>): Promise<void> {
  const chats = await chatCount();
  const upstream = completionRequests(harness.fake).length;
  await action();
  expect(await chatCount()).toBe(chats);
  expect(completionRequests(harness.fake).length).toBe(upstream);
}

describe("unknown chat ids", () => {
  it("POST /api/chat with an unknown chatId is a 404 and creates nothing", async () => {
    await withoutSideEffects(async () => {
      const response = await api(url, "POST", "/api/chat", { message: "Hello?", chatId: UNKNOWN_ID });
      expectError(response, 404, { code: "chat_not_found" });
    });
  });

  it("the 404 of POST /api/chat names the field the client sent: chatId", async () => {
    const response = await api(url, "POST", "/api/chat", { message: "Hello?", chatId: UNKNOWN_ID });
    expectError(response, 404, { code: "chat_not_found", param: "chatId" });
  });

  it("GET, rename and DELETE of an unknown chat are 404s", async () => {
    expectError(await api(url, "GET", `/api/chats/${UNKNOWN_ID}`), 404, {
      code: "chat_not_found",
      param: "chatId",
    });
    expectError(await api(url, "PUT", `/api/chats/${UNKNOWN_ID}/rename`, { name: "x" }), 404, {
      code: "chat_not_found",
    });
    expectError(await api(url, "DELETE", `/api/chats/${UNKNOWN_ID}`), 404, { code: "chat_not_found" });
  });
});

describe("malformed chat ids", () => {
  const traversals = ["../../etc/passwd", "../sentinel.json", "..\\sentinel.json", "not-a-uuid"];

  it("are 400s naming chatId on every route, and never reach the file system", async () => {
    // Let the store settle (its files exist once the server runs), then watch both directories.
    await api(url, "GET", "/api/chats");
    const before = { root: readdirSync(root).sort(), data: safeList(dataDir) };

    await withoutSideEffects(async () => {
      for (const id of traversals) {
        const encoded = encodeURIComponent(id);
        for (const response of [
          await api(url, "GET", `/api/chats/${encoded}`),
          await api(url, "DELETE", `/api/chats/${encoded}`),
          await api(url, "PUT", `/api/chats/${encoded}/rename`, { name: "Renamed" }),
          await api(url, "POST", "/api/chat", { message: "Hi", chatId: id }),
        ]) {
          expectError(response, 400, { param: "chatId", code: "invalid_chat_id" });
        }
      }
    });

    expect(readFileSync(sentinel, "utf8")).toBe("do not touch");
    expect(readdirSync(root).sort()).toEqual(before.root);
    expect(safeList(dataDir)).toEqual(before.data);
  });
});

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

describe("empty input", () => {
  it.each([
    ["an empty string", { message: "" }, "message"],
    ["only spaces", { message: "   \n " }, "message"],
    ["an empty parts array", { message: [] }, "message"],
    ["only an empty text part", { message: [{ type: "text", text: " " }] }, "message"],
    ["no message at all", { model: "qwen3.7-plus" }, "message"],
    ["an empty messages array", { messages: [] }, "message"],
  ])("POST /api/chat with %s is a 400", async (_label, body, param) => {
    await withoutSideEffects(async () => {
      expectError(await api(url, "POST", "/api/chat", body), 400, { param });
    });
  });

  it("POST /api/chat with messages but no user message is a 400 naming messages", async () => {
    await withoutSideEffects(async () => {
      const response = await api(url, "POST", "/api/chat", {
        messages: [{ role: "system", content: "Be brief" }],
      });
      expectError(response, 400, { param: "messages" });
    });
  });

  it("an empty name is a 400 when creating and when renaming", async () => {
    await withoutSideEffects(async () => {
      expectError(await api(url, "POST", "/api/chats", { name: "" }), 400, { param: "name" });
      expectError(await api(url, "POST", "/api/chats", { name: "   " }), 400, { param: "name" });
    });
    const created = await api(url, "POST", "/api/chats", { name: "Keeps its name" });
    const chatId = created.body.chatId;
    expectError(await api(url, "PUT", `/api/chats/${chatId}/rename`, { name: " " }), 400, { param: "name" });
    expectError(await api(url, "PUT", `/api/chats/${chatId}/rename`, {}), 400, { param: "name" });
    expect((await getChat(url, chatId)).name).toBe("Keeps its name");
  });
});

describe("oversized bodies", () => {
  it("a body over bodyLimit is a 413", async () => {
    await withoutSideEffects(async () => {
      const response = await api(url, "POST", "/api/chat", { message: "x".repeat(BODY_LIMIT + 1) });
      expectError(response, 413, { code: "request_too_large" });
    });
  });

  it("a body just under the limit is accepted", async () => {
    const response = await api(url, "POST", "/api/chat", { message: "y".repeat(BODY_LIMIT - 100) });
    expect(response.status, response.text).toBe(200);
  });
});

describe("wrong types name the field", () => {
  it.each([
    ["message as a number", { message: 42 }, "message"],
    ["model as a number", { message: "Hi", model: 7 }, "model"],
    ["stream as a string", { message: "Hi", stream: "yes" }, "stream"],
    ["chatId as a number", { message: "Hi", chatId: 12 }, "chatId"],
    ["messages as a string", { messages: "Hi" }, "messages"],
    ["a text part without text", { message: [{ type: "text", text: 5 }] }, "message.0"],
    ["a part of an unknown type", { message: [{ type: "video", video: "x" }] }, "message.0.type"],
    ["an image part without a URL", { message: [{ type: "image", image: "not a url" }] }, "message.0"],
    [
      "an image as the second part",
      { message: [{ type: "text", text: "Hi" }, { type: "image" }] },
      "message.1",
    ],
  ])("POST /api/chat with %s", async (_label, body, param) => {
    await withoutSideEffects(async () => {
      expectError(await api(url, "POST", "/api/chat", body), 400, { param });
    });
  });

  it("POST /api/chat with a body that is not JSON is a 400", async () => {
    await withoutSideEffects(async () => {
      expectError(await api(url, "POST", "/api/chat", "{not json"), 400, { code: "invalid_json" });
    });
  });

  it("POST /api/chats with a name that is not a string", async () => {
    await withoutSideEffects(async () => {
      expectError(await api(url, "POST", "/api/chats", { name: 5 }), 400, { param: "name" });
    });
  });

  it("POST /api/chats with a name that is too long", async () => {
    await withoutSideEffects(async () => {
      expectError(await api(url, "POST", "/api/chats", { name: "n".repeat(1000) }), 400, { param: "name" });
    });
  });

  it("PUT rename with a name that is not a string", async () => {
    const created = await api(url, "POST", "/api/chats", { name: "Typed" });
    expectError(await api(url, "PUT", `/api/chats/${created.body.chatId}/rename`, { name: ["x"] }), 400, {
      param: "name",
    });
  });

  it.each([
    ["limit=abc", "limit"],
    ["limit=0", "limit"],
    ["limit=2.5", "limit"],
    ["offset=-1", "offset"],
    ["offset=many", "offset"],
  ])("GET /api/chats?%s", async (query, param) => {
    expectError(await api(url, "GET", `/api/chats?${query}`), 400, { param });
  });

  it.each([
    [{ olderThan: "old" }, "olderThan"],
    [{ olderThan: -5 }, "olderThan"],
    [{ userMessageCountLessThan: 1.5 }, "userMessageCountLessThan"],
    [{ messageCountLessThan: "3" }, "messageCountLessThan"],
    [{ maxChats: -1 }, "maxChats"],
  ])("POST /api/chats/cleanup with %j", async (criteria, param) => {
    const created = await api(url, "POST", "/api/chats", { name: "Survives bad cleanups" });
    expectError(await api(url, "POST", "/api/chats/cleanup", criteria), 400, { param });
    expect((await getChat(url, created.body.chatId)).name).toBe("Survives bad cleanups");
  });

  it("POST /api/chat with an unknown model is a 404 naming model", async () => {
    await withoutSideEffects(async () => {
      const response = await api(url, "POST", "/api/chat", { message: "Hi", model: "no-such-model" });
      expectError(response, 404, { param: "model", code: "model_not_found" });
    });
  });
});
