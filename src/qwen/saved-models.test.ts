import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseModelList } from "./models.js";
import { readSavedModels, savedModelsPath, writeSavedModels } from "./saved-models.js";

describe("saved model list", () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "saved-models-"));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  const models = parseModelList({
    data: [
      { id: "qwen3.7-plus", name: "Qwen3.7-Plus", info: { meta: { chat_type: ["t2t", "search"] } } },
      { id: "qwen3-coder", name: "Qwen3-Coder" },
    ],
  });

  it("round-trips through DATA_DIR/models.json, readable by its owner only", () => {
    expect(readSavedModels(dataDir)).toBeUndefined();
    writeSavedModels(dataDir, models);
    expect(readSavedModels(dataDir)).toEqual(models);
    expect(statSync(savedModelsPath(dataDir)).mode & 0o777).toBe(0o600);
    writeSavedModels(dataDir, models.slice(1));
    expect(readSavedModels(dataDir)?.map((model) => model.id)).toEqual(["qwen3-coder"]);
  });

  it("ignores a damaged file, another format, and entries that are not models", () => {
    const path = savedModelsPath(dataDir);
    writeFileSync(path, '{"format":1,"models":[');
    expect(readSavedModels(dataDir)).toBeUndefined();
    writeFileSync(path, JSON.stringify({ format: 2, models }));
    expect(readSavedModels(dataDir)).toBeUndefined();
    writeFileSync(path, JSON.stringify({ format: 1, models: [{ id: 7 }, null, ...models] }));
    expect(readSavedModels(dataDir)).toEqual(models);
    expect(JSON.parse(readFileSync(path, "utf8")).models).toHaveLength(4);
  });
});
