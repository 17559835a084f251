import { join } from "node:path";
import { readJsonFileSync, writePrivateJsonSync } from "../config/private-json-file.js";
import type { QwenModel } from "./models.js";

// The last model list upstream gave, kept in DATA_DIR so that a restart while /api/models is
// unreachable (an outage, a wall in front of it) still knows which models exist.

const FORMAT = 1;

export function savedModelsPath(dataDir: string): string {
  return join(dataDir, "models.json");
}

export function readSavedModels(dataDir: string): QwenModel[] | undefined {
  const saved = readJsonFileSync(savedModelsPath(dataDir)) as
    | { format?: unknown; models?: unknown }
    | undefined;
  if (saved?.format !== FORMAT || !Array.isArray(saved.models)) return undefined;
  const models = saved.models.filter(isSavedModel);
  return models.length > 0 ? models : undefined;
}

export function writeSavedModels(dataDir: string, models: QwenModel[]): void {
  writePrivateJsonSync(savedModelsPath(dataDir), {
    format: FORMAT,
    savedAt: new Date().toISOString(),
    models,
  });
}

function isSavedModel(value: unknown): value is QwenModel {
  if (!value || typeof value !== "object") return false;
  const model = value as Partial<QwenModel>;
  return (
    typeof model.id === "string" &&
    typeof model.name === "string" &&
    Array.isArray(model.chatTypes) &&
    typeof model.capabilities === "object" &&
    model.capabilities !== null
  );
}
