import { describe, expect, it } from "vitest";
import { mediaInChatDetail } from "./chat-detail-media.js";

// Hand-built `data` objects of GET /api/v2/chats/<id> (§1.2): since 2026-08 the history is the
// `chat.messages` array and `chat.history.messages` is empty; before, it was that id map.

const KEY = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InUxIn0.c2lnbmF0dXJl";
const IMAGE = `https://cdn.qwenlm.ai/output/u1/t2i/r1/1754000000.png?key=${KEY}`;
const IMAGE_2 = `https://cdn.qwenlm.ai/output/u1/t2i/r1/1754000001.png?key=${KEY}`;
const OLD_IMAGE = `https://cdn.qwenlm.ai/output/u1/t2i/r0/1753000000.png?key=${KEY}`;
const VIDEO = `https://cdn.qwenlm.ai/output/u1/t2v/task-1/video.mp4?key=${KEY}`;
const UPLOAD = `https://cdn.qwenlm.ai/output/u1/uploads/cat.png?key=${KEY}`;

type Message = Record<string, unknown>;

function user(id: string, extra: Message = {}): Message {
  return { id, role: "user", content: "make something", files: [], ...extra };
}

function assistant(id: string, extra: Message = {}): Message {
  return { id, role: "assistant", content: "", reasoning_content: "", content_list: [], extra: {}, ...extra };
}

/** The 2026-08 shape: history in the array, the map empty. */
function arrayShape(messages: Message[]): Record<string, unknown> {
  return {
    id: "chat-1",
    chat: {
      history: { messages: {}, currentId: messages.at(-1)?.id ?? null },
      models: ["qwen3.7-plus"],
      messages,
    },
  };
}

/** The older shape: history in the id map. */
function mapShape(messages: Message[]): Record<string, unknown> {
  return {
    id: "chat-1",
    chat: {
      history: {
        messages: Object.fromEntries(messages.map((message) => [message.id as string, message])),
        currentId: messages.at(-1)?.id ?? null,
      },
      models: ["qwen3.7-plus"],
    },
  };
}

const shapes = [
  ["array (data.chat.messages)", arrayShape],
  ["map (data.chat.history.messages)", mapShape],
] as const;

describe.each(shapes)("mediaInChatDetail, history as %s", (_name, shape) => {
  it("finds the video task id at extra.wanx.task_id, and the reply's own id", () => {
    const detail = shape([user("u1"), assistant("a1", { extra: { wanx: { task_id: "task-1" } } })]);
    expect(mediaInChatDetail(detail)).toEqual({ taskId: "task-1", urls: [], messageId: "a1" });
  });

  it("follows history.currentId to the current reply, when the detail names one", () => {
    const detail = shape([
      user("u1"),
      assistant("a1", { content: IMAGE }),
      assistant("a2", { content: IMAGE_2 }),
    ]);
    const chat = (detail as { chat: { history: Record<string, unknown> } }).chat;
    chat.history = { ...chat.history, currentId: "a1" };
    expect(mediaInChatDetail(detail)).toMatchObject({ urls: [IMAGE], messageId: "a1" });
  });

  it("finds a plain-http media URL too (an upstream reached over http)", () => {
    const local = "http://127.0.0.1:8080/output/u1/t2i/r1/1.png?key=abc";
    const detail = shape([user("u1"), assistant("a1", { content: local })]);
    expect(mediaInChatDetail(detail).urls).toEqual([local]);
  });

  it("finds a podcast task id at extra.aipodcast.task_id", () => {
    const detail = shape([user("u1"), assistant("a1", { extra: { aipodcast: { task_id: "pod-1" } } })]);
    expect(mediaInChatDetail(detail).taskId).toBe("pod-1");
  });

  it("finds a task id nested in a content_list item's extra", () => {
    const detail = shape([
      user("u1"),
      assistant("a1", {
        content_list: [
          { phase: "thinking_summary", content: "", status: "finished", extra: {} },
          { phase: "answer", content: "", status: "finished", extra: { wanx: { task_id: "task-in-list" } } },
        ],
      }),
    ]);
    expect(mediaInChatDetail(detail)).toMatchObject({ taskId: "task-in-list", urls: [] });
  });

  it("ignores an empty task id", () => {
    const detail = shape([user("u1"), assistant("a1", { extra: { wanx: { task_id: "" } } })]);
    expect(mediaInChatDetail(detail)).toMatchObject({ urls: [] });
  });

  it("finds an image URL that is the whole content", () => {
    const detail = shape([user("u1"), assistant("a1", { content: IMAGE })]);
    expect(mediaInChatDetail(detail)).toMatchObject({ urls: [IMAGE] });
  });

  it("finds image URLs inside markdown and prose, without the closing parenthesis", () => {
    const detail = shape([
      user("u1"),
      assistant("a1", { content: `Here you go:\n\n![image](${IMAGE})\n\nand another ![image](${IMAGE_2})` }),
    ]);
    expect(mediaInChatDetail(detail)).toMatchObject({ urls: [IMAGE, IMAGE_2] });
  });

  it("finds URLs in content_list items and extra.image_list, each once, in order", () => {
    const detail = shape([
      user("u1"),
      assistant("a1", {
        content: IMAGE,
        content_list: [
          {
            phase: "image_gen",
            content: IMAGE,
            status: "finished",
            extra: { output_image_hw: [[1328, 1328]] },
          },
          { phase: "answer", content: "", status: "finished", extra: { image_list: [{ image: IMAGE_2 }] } },
        ],
      }),
    ]);
    expect(mediaInChatDetail(detail)).toMatchObject({ urls: [IMAGE, IMAGE_2] });
  });

  it("reports both a task id and a URL when the message has both", () => {
    const detail = shape([
      user("u1"),
      assistant("a1", { content: VIDEO, extra: { wanx: { task_id: "task-1" } } }),
    ]);
    expect(mediaInChatDetail(detail)).toMatchObject({ taskId: "task-1", urls: [VIDEO] });
  });

  it("counts only the last assistant message", () => {
    const detail = shape([
      user("u1"),
      assistant("a1", { content: OLD_IMAGE, extra: { wanx: { task_id: "old-task" } } }),
      user("u2"),
      assistant("a2", { content: IMAGE }),
    ]);
    expect(mediaInChatDetail(detail)).toMatchObject({ urls: [IMAGE] });
  });

  it("a last assistant message without media hides the media of earlier ones", () => {
    const detail = shape([
      user("u1"),
      assistant("a1", { content: OLD_IMAGE, extra: { wanx: { task_id: "old-task" } } }),
      user("u2"),
      assistant("a2", { content: "" }),
    ]);
    expect(mediaInChatDetail(detail)).toMatchObject({ urls: [] });
  });

  it("ignores user messages, even the newest one and its attachments", () => {
    const detail = shape([
      user("u1"),
      assistant("a1", { content: IMAGE }),
      user("u2", {
        content: `edit ${UPLOAD}`,
        files: [{ type: "image", url: UPLOAD, extra: { wanx: { task_id: "user-task" } } }],
      }),
    ]);
    expect(mediaInChatDetail(detail)).toMatchObject({ urls: [IMAGE] });
  });

  it("a chat with only user messages has no media", () => {
    const detail = shape([user("u1", { content: UPLOAD, extra: { wanx: { task_id: "user-task" } } })]);
    expect(mediaInChatDetail(detail)).toMatchObject({ urls: [] });
  });

  it("an answer without media gives { urls: [] }", () => {
    const detail = shape([
      user("u1"),
      assistant("a1", {
        content:
          "I could not make that. See https://example.com/help?key=1 and https://cdn.qwenlm.ai/logo.png",
        content_list: [{ phase: "answer", content: "I could not make that.", status: "finished", extra: {} }],
      }),
    ]);
    expect(mediaInChatDetail(detail)).toMatchObject({ urls: [] });
  });
});

describe("mediaInChatDetail, odd details", () => {
  it("an empty chat gives { urls: [] }", () => {
    expect(mediaInChatDetail(arrayShape([]))).toEqual({ urls: [] });
    expect(mediaInChatDetail(mapShape([]))).toEqual({ urls: [] });
    expect(mediaInChatDetail({})).toEqual({ urls: [] });
    expect(mediaInChatDetail({ chat: { history: {}, messages: null } })).toEqual({ urls: [] });
  });

  it("reads messages when `data` is the chat itself (no `chat` wrapper)", () => {
    const detail = { messages: [user("u1"), assistant("a1", { extra: { wanx: { task_id: "task-1" } } })] };
    expect(mediaInChatDetail(detail).taskId).toBe("task-1");
  });

  it("skips entries of the history that are not objects", () => {
    const detail = arrayShape([user("u1"), assistant("a1", { content: IMAGE }), null as never, "x" as never]);
    expect(mediaInChatDetail(detail)).toMatchObject({ urls: [IMAGE] });
  });

  it("a history in both the array and the map is read once", () => {
    const messages = [
      user("u1"),
      assistant("a1", { content: IMAGE, extra: { wanx: { task_id: "task-1" } } }),
    ];
    const detail = {
      chat: {
        ...(arrayShape(messages).chat as object),
        history: (mapShape(messages).chat as Message).history,
      },
    };
    expect(mediaInChatDetail(detail)).toMatchObject({ taskId: "task-1", urls: [IMAGE] });
  });
});
