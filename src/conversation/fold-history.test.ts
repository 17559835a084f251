import { describe, expect, it } from "vitest";
import { foldHistory, toUpstreamContent } from "./fold-history.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { hashHistory, storedHistory, type TurnMessage } from "./turn-message.js";

const user = (text: string, attachments: string[] = []): TurnMessage => ({ role: "user", text, attachments });
const assistant = (text: string): TurnMessage => ({ role: "assistant", text, attachments: [] });
const system = (text: string): TurnMessage => ({ role: "system", text, attachments: [] });

describe("folding a history into one message", () => {
  it("a lone message goes unchanged", () => {
    expect(foldHistory([], user("Hi"))).toBe("Hi");
  });

  it("system instructions, earlier turns and the new message, each labelled, in order", () => {
    const folded = foldHistory(
      [
        system("Be brief."),
        user("Name a colour", ["https://x/cat.png"]),
        assistant("<think>hmm</think>Blue"),
      ],
      user("Another"),
    );
    expect(folded).toBe(
      "[System instructions]\nBe brief.\n\n" +
        "[Conversation so far]\nUser: Name a colour\n[attachment: https://x/cat.png]\n\nAssistant: Blue\n\n" +
        "[Current message from the user — reply to this]\nAnother",
    );
  });

  it("images of the new message become image parts", () => {
    expect(toUpstreamContent("look", [])).toBe("look");
    expect(toUpstreamContent("look", ["https://x/a.png"])).toEqual([
      { type: "text", text: "look" },
      { type: "image", image: "https://x/a.png" },
    ]);
  });
});

describe("recognising a history", () => {
  it("the same conversation hashes the same despite spacing, think tags and image markdown", () => {
    const stored = [user("Hello"), assistant("Hi there\n\n![image](https://x/1.png)")];
    const echoed = [user("Hello "), assistant("<think>reasoning</think>\n\nHi   there")];
    expect(hashHistory(echoed)).toBe(hashHistory(stored));
    expect(hashHistory([user("Hello"), assistant("Hi where")])).not.toBe(hashHistory(stored));
  });

  it("stored history keeps system messages and only turns whose reply completed", () => {
    const base = { id: "x", createdAt: 0 };
    const history = storedHistory([
      { ...base, role: "system", content: "S", status: "complete" },
      { ...base, role: "user", content: "one", status: "complete" },
      { ...base, role: "assistant", content: "1", status: "complete" },
      { ...base, role: "user", content: "two", status: "complete" },
      { ...base, role: "assistant", content: "half", status: "incomplete" },
      { ...base, role: "user", content: "three", status: "complete" },
      { ...base, role: "assistant", content: "", status: "failed" },
    ]);
    expect(history.map((message) => message.text)).toEqual(["S", "one", "1"]);
  });
});

describe("one turn at a time per chat", () => {
  it("a second holder waits for the first; other keys do not", async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    const releaseA = await mutex.acquire("chat");
    const second = mutex.acquire("chat").then((release) => {
      order.push("second");
      release();
    });
    const other = mutex.acquire("other").then((release) => {
      order.push("other");
      release();
    });
    await other;
    order.push("first done");
    releaseA();
    await second;
    expect(order).toEqual(["other", "first done", "second"]);
  });
});
