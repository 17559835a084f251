import { describe, expect, it } from "vitest";
import { parseModelList } from "../qwen/models.js";
import { selectModel, variantNames } from "./model-selection.js";

const models = parseModelList({
  data: [
    {
      id: "qwen3.7-plus",
      name: "Qwen3.7-Plus",
      info: {
        meta: { capabilities: { thinking: true, vision: true }, chat_type: ["t2t", "search", "t2i", "t2v"] },
      },
    },
    { id: "qwen3.8-max", info: { meta: { capabilities: { thinking: true }, chat_type: ["t2t"] } } },
    { id: "qwen3-coder", info: { meta: { capabilities: {}, chat_type: ["t2t"] } } },
    { id: "qwen3.7-max", info: { is_active: false, meta: { chat_type: ["t2t"] } } },
  ],
});

describe("model names", () => {
  it("exact ids and display names, case-insensitively", () => {
    expect(selectModel("qwen3.7-plus", models)?.model.id).toBe("qwen3.7-plus");
    expect(selectModel("Qwen3.7-Plus", models)?.model.id).toBe("qwen3.7-plus");
  });

  it("suffixes switch thinking, search and the mode", () => {
    expect(selectModel("qwen3.7-plus-thinking", models)).toMatchObject({ thinking: true, search: false });
    expect(selectModel("qwen3.7-plus-thinking-search", models)).toMatchObject({
      thinking: true,
      search: true,
    });
    expect(selectModel("qwen3.7-plus-image", models)).toMatchObject({ chatType: "t2i" });
    expect(selectModel("qwen3.7-plus-video", models)).toMatchObject({ chatType: "t2v" });
    expect(selectModel("qwen3.7-plus-thinking", models)?.requested).toBe("qwen3.7-plus-thinking");
  });

  it("explicit switches win over the name; a model that needs thinking always has it", () => {
    expect(selectModel("qwen3.7-plus-thinking", models, { thinking: false })?.thinking).toBe(false);
    expect(selectModel("qwen3.7-plus", models, { thinking: true })?.thinking).toBe(true);
    expect(selectModel("qwen3.8-max", models, { thinking: false })?.thinking).toBe(true);
    expect(selectModel("qwen3-coder", models, { thinking: true })?.thinking).toBe(false);
  });

  it("old names map to the first active model of their family", () => {
    expect(selectModel("qwen-max-latest", models)?.model.id).toBe("qwen3.8-max");
    expect(selectModel("qwen-plus", models)?.model.id).toBe("qwen3.7-plus");
    expect(selectModel("qwen3-coder-plus", models)?.model.id).toBe("qwen3-coder");
    expect(selectModel("qwen-max-latest-thinking", models)?.thinking).toBe(true);
  });

  it("unknown names are not guessed", () => {
    expect(selectModel("gpt-4o", models)).toBeUndefined();
    expect(selectModel("qwen3.7-plus-bogus", models)).toBeUndefined();
  });

  it("variants follow capabilities", () => {
    const [plus, max, coder] = models;
    expect(variantNames(plus!)).toEqual([
      "qwen3.7-plus",
      "qwen3.7-plus-thinking",
      "qwen3.7-plus-search",
      "qwen3.7-plus-thinking-search",
      "qwen3.7-plus-image",
      "qwen3.7-plus-video",
    ]);
    expect(variantNames(max!)).toEqual(["qwen3.8-max"]);
    expect(variantNames(coder!)).toEqual(["qwen3-coder"]);
  });
});
