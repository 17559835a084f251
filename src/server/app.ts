import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { keyMatches, presentedKey } from "./api-keys.js";
import type { AppContext } from "./app-context.js";
import { registerCors } from "./cors.js";
import { errorHeaders, openAiErrorBody, toHttpError } from "./http-errors.js";
import { registerChat } from "./native/chat-route.js";
import { registerChats } from "./native/chats-routes.js";
import { registerFiles } from "./native/files-routes.js";
import { registerStatus } from "./native/status-route.js";
import { registerChatCompletions } from "./openai/chat-completions-route.js";
import { registerModels } from "./openai/models-route.js";

/** Paths that answer without an API key (liveness probes). */
const PUBLIC_PATHS = new Set(["/health"]);

/** Header and field values that never reach the log. */
const REDACT = [
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  "req.headers.cookie",
  "token",
  "password",
  "*.token",
  "*.password",
];

export function buildApp(context: AppContext): FastifyInstance {
  const { config } = context;
  const app = Fastify({
    logger: { level: config.logLevel, redact: { paths: REDACT, censor: "[redacted]" } },
    bodyLimit: config.bodyLimit,
    requestIdHeader: "x-request-id",
    genReqId: () => `req_${randomUUID().replaceAll("-", "")}`,
    // Idle keep-alive sockets must not hold up a shutdown.
    forceCloseConnections: "idle",
    // Clients join base URL and path in their own ways: `/v1/models/` is `/v1/models`.
    routerOptions: { ignoreTrailingSlash: true },
  });

  // Some clients send JSON without (or with a wrong) Content-Type; read it anyway.
  app.removeContentTypeParser("text/plain");
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === "") return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(Object.assign(error as Error, { statusCode: 400 }), undefined);
    }
  });

  // CORS answers preflights itself and marks every answer, the 401s of the key check included,
  // so it must run before that check.
  registerCors(app, config.corsOrigins);
  app.after(() => app.addHook("onRequest", checkApiKey));

  async function checkApiKey(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    reply.header("x-request-id", request.id);
    if (config.apiKeys.length === 0 || PUBLIC_PATHS.has(request.url)) return;
    if (!keyMatches(presentedKey(request), config.apiKeys)) {
      await reply
        .status(401)
        .header("x-should-retry", "false")
        .send({
          error: {
            message: "Missing or invalid API key: send it as 'Authorization: Bearer <key>' or 'x-api-key'",
            type: "invalid_request_error",
            param: null,
            code: "invalid_api_key",
          },
        });
    }
  }

  app.setErrorHandler(async (error, request, reply) => {
    const httpError = toHttpError(error);
    if (httpError.status >= 500) request.log.error({ err: error }, "request failed");
    else request.log.info({ code: httpError.code, status: httpError.status }, httpError.message);
    await reply.status(httpError.status).headers(errorHeaders(httpError)).send(openAiErrorBody(httpError));
  });

  app.setNotFoundHandler(async (request, reply) => {
    // A path that exists for other methods is a 405 that says which (GET on a POST endpoint).
    const path = (request.url.split("?")[0] ?? request.url).replace(/(.)\/+$/, "$1");
    const allowed = ["GET", "POST", "PUT", "DELETE"].filter((method) => {
      if (method === request.method) return false;
      try {
        return app.hasRoute({ url: path, method });
      } catch {
        return false;
      }
    });
    if (allowed.length > 0) {
      await reply
        .status(405)
        .header("allow", allowed.join(", "))
        .send({
          error: {
            message: `${request.method} is not allowed on ${path}; use ${allowed.join(" or ")}`,
            type: "invalid_request_error",
            param: null,
            code: "method_not_allowed",
          },
        });
      return;
    }
    await reply.status(404).send({
      error: {
        message: `No route ${request.method} ${request.url}`,
        type: "invalid_request_error",
        param: null,
        code: "not_found",
      },
    });
  });

  registerChatCompletions(app, context);
  registerModels(app, context);
  registerStatus(app, context);
  registerChat(app, context);
  registerChats(app, context);
  void app.register(async (scope) => registerFiles(scope, context));
  return app;
}
