import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type BrowserSurface, clearanceCookieName } from "./browser-surface.js";
import type { FakeState } from "./fake-state.js";
import { sendJson, sendMethodNotAllowed, sendRouteNotFound, sendUnauthorized } from "./http-replies.js";
import {
  type Authentication,
  bodyForLog,
  collectHeaders,
  headerValue,
  parseQuery,
  type RequestContext,
  readBody,
  readCookie,
  type ServerSettings,
} from "./request-context.js";
import { handleCdnRequest, handleOssRequest, isCdnRequest, isOssRequest } from "./routes/oss-routes.js";
import { routes } from "./routes.js";
import { sendScenarioReply, sendWafChallenge } from "./scenario-replies.js";
import type { ScenarioStore } from "./scenarios.js";
import { createRandom } from "./seeded-random.js";
import type { RequestLogEntry } from "./types.js";

// The HTTP layer: read and log every request, authenticate it, apply gateway- and
// auth-stage scenarios, then hand it to its route. Closing ends every open socket.

export interface ServerDependencies {
  state: FakeState;
  scenarios: ScenarioStore;
  browserSurface: BrowserSurface;
  requests: RequestLogEntry[];
  settings: ServerSettings;
  host: string;
  port: number;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

const unauthorizedDetails: Record<NonNullable<Authentication["failure"]>, string> = {
  missing: "Not authenticated",
  malformed: "Invalid token",
  unknown: "Invalid token",
  revoked: "Unauthorized",
  expired: "Token has expired",
};

export async function startServer(dependencies: ServerDependencies): Promise<RunningServer> {
  const { state, settings } = dependencies;
  const abortController = new AbortController();
  const sockets = new Set<Socket>();
  let responseCounter = 0;
  let baseUrl = "";

  const server = createServer((request, response) => {
    void handleRequest(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { detail: `fake-qwen failure: ${String(error)}` });
      else response.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("clientError", (_error, socket) => socket.destroy());

  async function handleRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = request.url ?? "/";
    const queryStart = target.indexOf("?");
    const path = queryStart === -1 ? target : target.slice(0, queryStart);
    const rawQuery = queryStart === -1 ? "" : target.slice(queryStart + 1);
    const rawBody = await readBody(request);
    const auth = authenticate(request, state);
    const query = parseQuery(rawQuery);
    dependencies.requests.push({
      time: Date.now(),
      method: request.method ?? "GET",
      path,
      query,
      headers: collectHeaders(request),
      body: bodyForLog(rawBody),
      accountId: auth.accountId,
    });
    const context: RequestContext = {
      request,
      response,
      method: request.method ?? "GET",
      path,
      query,
      rawQuery,
      rawBody,
      auth,
      state,
      scenarios: dependencies.scenarios,
      browserSurface: dependencies.browserSurface,
      settings,
      baseUrl,
      signal: abortController.signal,
      createRandom: () => {
        responseCounter += 1;
        return createRandom(settings.seed + Math.imul(responseCounter, 0x9e3779b9));
      },
    };
    await dispatch(context);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(dependencies.port, dependencies.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  baseUrl = `http://${host}:${address.port}`;

  return {
    url: baseUrl,
    close: () =>
      new Promise<void>((resolve) => {
        abortController.abort();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }),
  };
}

async function dispatch(context: RequestContext): Promise<void> {
  const { response, scenarios, auth } = context;
  if (isCdnRequest(context)) {
    handleCdnRequest(context);
    return;
  }
  if (isOssRequest(context)) {
    handleOssRequest(context);
    return;
  }
  // The gateway in front of the API hands every client a session cookie, as Aliyun's does
  // (`acw_tc`, §2.4); clients may send it back or not, nothing here depends on it.
  if (context.path.startsWith("/api/") && !readCookie(context.request, "acw_tc")) {
    response.setHeader(
      "set-cookie",
      `acw_tc=${randomBytes(16).toString("hex")}; Path=/; HttpOnly; Max-Age=1800`,
    );
  }
  // The anti-bot wall stands in front of routing and authentication alike (§2.5).
  if (context.browserSurface.blocks(context.path, readCookie(context.request, clearanceCookieName))) {
    sendWafChallenge(response);
    return;
  }
  const candidates = routes.filter(
    (candidate) => candidate.pattern.test(context.path) && (candidate.exists?.(context) ?? true),
  );
  if (candidates.length === 0) {
    sendRouteNotFound(response);
    return;
  }
  const route = candidates.find((candidate) => candidate.method === context.method);
  if (!route) {
    sendMethodNotAllowed(response);
    return;
  }
  const parameters = (route.pattern.exec(context.path) ?? []).slice(1);
  const kind = route.kind;
  // The WAF and the gateway sit in front of authentication.
  const gateway = kind ? scenarios.take("gateway", kind, auth.accountId) : null;
  if (gateway) {
    sendScenarioReply(response, gateway);
    return;
  }
  if (route.auth === "required" && !auth.accountId) {
    sendUnauthorized(response, unauthorizedDetails[auth.failure ?? "missing"]);
    return;
  }
  if (kind && auth.accountId && auth.token && scenarios.take("auth", kind, auth.accountId)) {
    context.state.revokeToken(auth.token);
    sendUnauthorized(response, unauthorizedDetails.revoked);
    return;
  }
  // Completions and chat creation check business scenarios themselves, after validation.
  const business =
    kind === "other-api" || kind === "models" || kind === "tasks"
      ? scenarios.take("business", kind, auth.accountId)
      : null;
  if (business) {
    sendScenarioReply(response, business);
    return;
  }
  await route.handle(context, parameters);
}

function authenticate(request: IncomingMessage, state: FakeState): Authentication {
  const authorization = headerValue(request, "authorization");
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  const token = bearer ?? readCookie(request, "token");
  if (!token) return { token: null, accountId: null, failure: "missing" };
  const check = state.checkToken(token);
  return check.ok
    ? { token, accountId: check.accountId, failure: null }
    : { token, accountId: null, failure: check.reason };
}
