import type { FastifyInstance } from "fastify";
import type { AppContext } from "../app-context.js";

/** Health of the proxy and of each account, without secrets. */
export function registerStatus(app: FastifyInstance, context: AppContext): void {
  app.get("/api/status", async () => {
    let upstream: { reachable: boolean; models?: number; modelsFrom?: string; error?: string };
    try {
      const models = await context.catalogue.list();
      // A list kept from earlier answers while upstream's is down: that is not "reachable".
      const health = context.catalogue.health();
      upstream = {
        reachable: health.lastError === undefined,
        models: models.length,
        modelsFrom: health.source,
        ...(health.lastError ? { error: health.lastError } : {}),
      };
    } catch (error) {
      upstream = { reachable: false, error: error instanceof Error ? error.message : String(error) };
    }
    const accounts = context.accounts.status();
    return {
      status: accounts.some((account) => account.state === "ok") ? "ok" : "degraded",
      version: context.version,
      uptimeSeconds: Math.floor((Date.now() - context.startedAt) / 1000),
      upstream: { baseUrl: context.config.qwenBaseUrl, ...upstream },
      accounts,
    };
  });
  app.get("/health", async () => ({ status: "ok" }));
}
