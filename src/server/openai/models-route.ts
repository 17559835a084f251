import type { FastifyInstance } from "fastify";
import { selectModel, variantNames } from "../../conversation/model-selection.js";
import type { QwenModel } from "../../qwen/models.js";
import type { AppContext } from "../app-context.js";
import { RequestError } from "../http-errors.js";

/** Upstream's created_at comes in seconds or milliseconds; OpenAI wants seconds. */
function createdSeconds(model: QwenModel): number {
  const created = model.createdAt ?? 0;
  return created > 1e12 ? Math.floor(created / 1000) : Math.floor(created);
}

function modelObject(id: string, model: QwenModel) {
  return { id, object: "model" as const, created: createdSeconds(model), owned_by: model.ownedBy };
}

export function registerModels(app: FastifyInstance, context: AppContext): void {
  const list = async () => {
    const models = await context.catalogue.list();
    const data = models
      .filter((model) => model.active)
      .flatMap((model) => variantNames(model).map((id) => modelObject(id, model)));
    return { object: "list" as const, data };
  };
  const retrieve = async (request: { params: unknown }) => {
    const { id } = request.params as { id: string };
    const selection = selectModel(id, await context.catalogue.list());
    if (!selection) {
      throw new RequestError(`The model '${id}' does not exist`, {
        status: 404,
        code: "model_not_found",
        param: "model",
      });
    }
    return modelObject(id, selection.model);
  };
  // "" serves clients whose base URL is the bare host (`http://127.0.0.1:3264`).
  for (const prefix of ["/v1", "/api", "/api/v1", ""]) {
    app.get(`${prefix}/models`, list);
    app.get(`${prefix}/models/:id`, retrieve);
  }
}
