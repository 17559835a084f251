import { describe, expect, it } from "vitest";
import { ModelCatalogue, parseModelList, type QwenModel } from "./models.js";

const sample = {
  data: [
    {
      id: "qwen3.7-plus",
      name: "Qwen3.7-Plus",
      owned_by: "qwen",
      info: {
        created_at: 123,
        is_active: true,
        meta: {
          capabilities: { vision: true, thinking: true, document: true },
          abilities: { audio: 1 },
          chat_type: ["t2t", "search", "t2i", "t2v", "image_edit"],
          max_context_length: 262144,
        },
      },
    },
    { id: "qwen3.8-max", info: { meta: { abilities: { thinking: 1 }, chat_type: ["t2t"] } } },
    { name: "no id, skipped" },
  ],
};

describe("model list", () => {
  it("reads capabilities from booleans and 0/1 flags and modes from chat_type", () => {
    const [plus, max] = parseModelList(sample);
    expect(plus).toMatchObject({
      id: "qwen3.7-plus",
      name: "Qwen3.7-Plus",
      active: true,
      createdAt: 123,
      maxContextLength: 262144,
      thinkingRequired: false,
      capabilities: {
        thinking: true,
        vision: true,
        audio: true,
        search: true,
        imageGeneration: true,
        videoGeneration: true,
        imageEdit: true,
      },
    });
    expect(max).toMatchObject({
      id: "qwen3.8-max",
      thinkingRequired: true,
      capabilities: { thinking: true },
    });
    expect(parseModelList(sample)).toHaveLength(2);
  });

  it("accepts the v2 nesting and a bare array", () => {
    expect(parseModelList({ data: { data: [{ id: "a" }] } }).map((model) => model.id)).toEqual(["a"]);
    expect(parseModelList([{ id: "b" }]).map((model) => model.id)).toEqual(["b"]);
    expect(parseModelList({ nothing: true })).toEqual([]);
  });
});

describe("catalogue cache", () => {
  const models = parseModelList(sample);

  it("shares one load between concurrent callers and honours the TTL", async () => {
    let loads = 0;
    const catalogue = new ModelCatalogue({
      ttlMs: 1000,
      load: async () => {
        loads++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return models;
      },
    });
    await Promise.all([catalogue.list({ now: 0 }), catalogue.list({ now: 0 })]);
    expect(loads).toBe(1);
    await catalogue.list({ now: 500 });
    expect(loads).toBe(1);
    await catalogue.list({ now: 1500 });
    expect(loads).toBe(2);
    expect((await catalogue.find("QWEN3.7-PLUS"))?.id).toBe("qwen3.7-plus");
  });

  it("keeps serving the last good list when a refresh fails, and fails when it never had one", async () => {
    let fail = false;
    const catalogue = new ModelCatalogue({
      ttlMs: 0,
      load: async (): Promise<QwenModel[]> => {
        if (fail) throw new Error("upstream down");
        return models;
      },
    });
    await catalogue.list();
    fail = true;
    expect(await catalogue.list()).toBe(models);
    const empty = new ModelCatalogue({ load: async () => Promise.reject(new Error("down")) });
    await expect(empty.list()).rejects.toThrow("down");
  });
});

describe("a list kept from an earlier run", () => {
  const models = parseModelList(sample);
  const saved = parseModelList({ data: [{ id: "qwen-old", name: "Qwen-Old" }] });

  it("is never taken as fresh: the first call asks upstream and keeps what it says", async () => {
    const loaded: QwenModel[][] = [];
    const catalogue = new ModelCatalogue({
      saved,
      load: async () => models,
      onLoaded: (list) => loaded.push(list),
    });
    expect(await catalogue.list({ now: 0 })).toBe(models);
    expect(loaded).toEqual([models]);
  });

  it("answers while upstream cannot, and asks again after a pause rather than on every call", async () => {
    let loads = 0;
    const loaded: QwenModel[][] = [];
    const catalogue = new ModelCatalogue({
      ttlMs: 600_000,
      saved,
      load: async (): Promise<QwenModel[]> => {
        loads++;
        throw new Error("upstream down");
      },
      onLoaded: (list) => loaded.push(list),
    });
    expect(await catalogue.list({ now: 1_000 })).toBe(saved);
    expect(await catalogue.list({ now: 20_000 })).toBe(saved);
    expect(loads).toBe(1);
    expect(await catalogue.list({ now: 31_001 })).toBe(saved);
    expect(loads).toBe(2);
    expect(loaded).toEqual([]);
  });

  it("is replaced by neither an empty upstream list nor an empty saved one", async () => {
    const catalogue = new ModelCatalogue({ saved, load: async () => [] });
    expect(await catalogue.list()).toBe(saved);
    const nothingSaved = new ModelCatalogue({
      saved: [],
      load: async () => Promise.reject(new Error("down")),
    });
    await expect(nothingSaved.list()).rejects.toThrow("down");
  });
});
