import type { RequestContext } from "./request-context.js";
import {
  handleCurrentUser,
  handleCurrentUserWithoutSlash,
  handleMemoriesDelete,
  handleRetiredUserRoute,
  handleSignin,
} from "./routes/auth-routes.js";
import { handleChatDetail, handleDeleteChat, handleListChats, handleNewChat } from "./routes/chat-routes.js";
import { handleCompletion } from "./routes/completion-routes.js";
import { handleMediaFile, handleTaskStatus } from "./routes/media-routes.js";
import { handleModels, handleModelsV2 } from "./routes/model-routes.js";
import { handleChatShellPage, handleSigninPage } from "./routes/page-routes.js";
import {
  handleParseFile,
  handleParseStatus,
  handleStsTokenV1,
  handleStsTokenV2,
} from "./routes/upload-routes.js";
import { sendHttpError } from "./scenario-replies.js";
import type { RouteKind } from "./scenarios.js";

// The route table of the fake chat.qwen.ai. Paths are matched exactly, trailing slashes
// included, because upstream treats `/api/v1/auths` and `/api/v1/auths/` differently.

export interface RouteDefinition {
  method: "GET" | "POST" | "DELETE";
  pattern: RegExp;
  /** "required" answers 401 before the handler runs when the token is missing or bad. */
  auth: "required" | "optional";
  /** Which scenarios may apply; null for non-API paths (media downloads, HTML pages). */
  kind: RouteKind | null;
  handle(context: RequestContext, parameters: string[]): void | Promise<void>;
  /** A route that can be switched off: while this says false, the path is an unknown route. */
  exists?(context: RequestContext): boolean;
}

const route = (definition: RouteDefinition): RouteDefinition => definition;

export const routes: RouteDefinition[] = [
  route({
    method: "POST",
    pattern: /^\/api\/v1\/auths\/signin$/,
    auth: "optional",
    kind: "other-api",
    handle: handleSignin,
  }),
  route({
    method: "GET",
    pattern: /^\/api\/v1\/auths\/$/,
    auth: "required",
    kind: "other-api",
    handle: handleCurrentUser,
  }),
  route({
    method: "GET",
    pattern: /^\/api\/v1\/auths$/,
    auth: "optional",
    kind: "other-api",
    handle: handleCurrentUserWithoutSlash,
  }),
  route({
    method: "GET",
    pattern: /^\/api\/v2\/user$/,
    auth: "optional",
    kind: "other-api",
    handle: handleRetiredUserRoute,
  }),
  route({
    method: "GET",
    pattern: /^\/api\/models$/,
    auth: "optional",
    kind: "models",
    handle: handleModels,
  }),
  route({
    method: "GET",
    pattern: /^\/api\/v2\/models\/?$/,
    auth: "optional",
    kind: "models",
    handle: handleModelsV2,
  }),
  route({
    method: "POST",
    pattern: /^\/api\/v2\/chats\/new$/,
    auth: "required",
    kind: "new-chat",
    handle: handleNewChat,
  }),
  route({
    method: "GET",
    pattern: /^\/api\/v2\/chats\/?$/,
    auth: "required",
    kind: "other-api",
    handle: handleListChats,
  }),
  route({
    method: "GET",
    pattern: /^\/api\/v2\/chats\/([^/]+)$/,
    auth: "required",
    kind: "other-api",
    handle: (context, [chatId]) => handleChatDetail(context, chatId ?? ""),
  }),
  route({
    method: "DELETE",
    pattern: /^\/api\/v2\/chats\/([^/]+)$/,
    auth: "required",
    kind: "other-api",
    handle: (context, [chatId]) => handleDeleteChat(context, chatId ?? ""),
  }),
  route({
    method: "POST",
    pattern: /^\/api\/v2\/chat\/completions$/,
    auth: "required",
    kind: "completions",
    handle: handleCompletion,
  }),
  // The v1 completion endpoint was retired: the gateway answers 504 HTML for everyone (§1.2).
  route({
    method: "POST",
    pattern: /^\/api\/chat\/completions$/,
    auth: "optional",
    kind: "other-api",
    handle: (context) => sendHttpError(context.response, 504, undefined, "text/html"),
  }),
  // Only one version of the task poll exists at a time (§1.2 lists both; S9 saw it move).
  route({
    method: "GET",
    pattern: /^\/api\/v1\/tasks\/status\/([^/]+)$/,
    auth: "required",
    kind: "tasks",
    exists: (context) => context.state.taskStatusRoute === "v1",
    handle: (context, [taskId]) => handleTaskStatus(context, taskId ?? ""),
  }),
  route({
    method: "GET",
    pattern: /^\/api\/v2\/tasks\/status\/([^/]+)$/,
    auth: "required",
    kind: "tasks",
    exists: (context) => context.state.taskStatusRoute === "v2",
    handle: (context, [taskId]) => handleTaskStatus(context, taskId ?? ""),
  }),
  route({
    method: "POST",
    pattern: /^\/api\/v2\/files\/getstsToken$/,
    auth: "required",
    kind: "other-api",
    handle: handleStsTokenV2,
  }),
  route({
    method: "POST",
    pattern: /^\/api\/v1\/files\/getstsToken$/,
    auth: "required",
    kind: "other-api",
    handle: handleStsTokenV1,
  }),
  route({
    method: "POST",
    pattern: /^\/api\/v2\/files\/parse$/,
    auth: "required",
    kind: "other-api",
    handle: handleParseFile,
  }),
  route({
    method: "POST",
    pattern: /^\/api\/v2\/files\/parse\/status$/,
    auth: "required",
    kind: "other-api",
    handle: handleParseStatus,
  }),
  route({
    method: "POST",
    pattern: /^\/api\/v2\/memories\/delete$/,
    auth: "required",
    kind: "other-api",
    handle: handleMemoriesDelete,
  }),
  route({ method: "GET", pattern: /^\/output\/.+$/, auth: "optional", kind: null, handle: handleMediaFile }),
  // Pages for a real browser (§2.2). `/auth` serves the sign-in form whatever `action` says.
  route({ method: "GET", pattern: /^\/auth\/?$/, auth: "optional", kind: null, handle: handleSigninPage }),
  route({ method: "GET", pattern: /^\/$/, auth: "optional", kind: null, handle: handleChatShellPage }),
  route({
    method: "GET",
    pattern: /^\/c\/[^/]+$/,
    auth: "optional",
    kind: null,
    handle: handleChatShellPage,
  }),
];
