import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { ChatRecord, ChatSummary } from "../../store/chat-store.js";
import { type AppContext, readChatId } from "../app-context.js";
import { RequestError } from "../http-errors.js";

const NAME_LIMIT = 200;

const ChatName = z.looseObject({ name: z.string().optional(), model: z.string().optional() });

const Cleanup = z.looseObject({
  olderThan: z.number().nonnegative().optional(),
  userMessageCountLessThan: z.number().int().nonnegative().optional(),
  messageCountLessThan: z.number().int().nonnegative().optional(),
  maxChats: z.number().int().nonnegative().optional(),
});

/** The stored chats: create, list, read, rename, delete, clean up (the original's /api/chats). */
export function registerChats(app: FastifyInstance, context: AppContext): void {
  const { store } = context;

  app.post("/api/chats", async (request, reply) => {
    const body = parse(ChatName, request.body ?? {});
    const name = readName(body.name ?? "New chat");
    const chat = await store.createChat({ name, model: body.model?.trim() || context.config.defaultModel });
    reply.status(201);
    return { chatId: chat.id, name: chat.name, model: chat.model, createdAt: iso(chat.createdAt) };
  });

  app.get("/api/chats", async (request) => {
    const query = request.query as Record<string, string | undefined>;
    const limit = readInteger(query.limit, "limit", 50, 1, 500);
    const offset = readInteger(query.offset, "offset", 0, 0, Number.MAX_SAFE_INTEGER);
    const { chats, total } = await store.listChats({ limit, offset });
    return { chats: chats.map(summaryJson), total, limit, offset };
  });

  app.get("/api/chats/:chatId", async (request) => {
    const chat = await requireChat(context, (request.params as { chatId: string }).chatId);
    return chatJson(chat);
  });

  app.delete("/api/chats/:chatId", async (request) => {
    const chatId = readChatId((request.params as { chatId: string }).chatId, "chatId")!;
    const deleted = await store.deleteChat(chatId);
    if (!deleted) throw notFound(chatId);
    context.upstreamCleanup.enqueue(deleted.upstreamChats);
    return { chatId, deleted: true };
  });

  app.put("/api/chats/:chatId/rename", async (request) => {
    const chatId = readChatId((request.params as { chatId: string }).chatId, "chatId")!;
    const body = parse(ChatName, request.body ?? {});
    if (body.name === undefined) throw new RequestError("'name' is required", { param: "name" });
    const name = readName(body.name);
    if (!(await store.renameChat(chatId, name))) throw notFound(chatId);
    return { chatId, name };
  });

  app.post("/api/chats/cleanup", async (request) => {
    const criteria = parse(Cleanup, request.body ?? {});
    const given = Object.values(criteria).filter((value) => typeof value === "number");
    if (given.length === 0) {
      throw new RequestError(
        "Give at least one of olderThan (ms), userMessageCountLessThan, messageCountLessThan, maxChats",
        { param: null },
      );
    }
    const { chats } = await store.listChats();
    const doomed = chooseForCleanup(chats, criteria, Date.now());
    for (const chat of doomed) {
      const deleted = await store.deleteChat(chat.id);
      if (deleted) context.upstreamCleanup.enqueue(deleted.upstreamChats);
    }
    return {
      deleted: doomed.length,
      chatIds: doomed.map((chat) => chat.id),
      remaining: chats.length - doomed.length,
    };
  });
}

/**
 * The filters (age, user messages, messages) must all hold for a chat to go; `maxChats` then
 * keeps only that many of the newest remaining chats.
 */
export function chooseForCleanup(
  chats: readonly ChatSummary[],
  criteria: z.infer<typeof Cleanup>,
  now: number,
): ChatSummary[] {
  const hasFilter =
    criteria.olderThan !== undefined ||
    criteria.userMessageCountLessThan !== undefined ||
    criteria.messageCountLessThan !== undefined;
  const matches = (chat: ChatSummary) =>
    (criteria.olderThan === undefined || now - chat.updatedAt > criteria.olderThan) &&
    (criteria.userMessageCountLessThan === undefined ||
      chat.userMessageCount < criteria.userMessageCountLessThan) &&
    (criteria.messageCountLessThan === undefined || chat.messageCount < criteria.messageCountLessThan);
  const doomed = hasFilter ? chats.filter(matches) : [];
  if (criteria.maxChats !== undefined) {
    const kept = chats.filter((chat) => !doomed.includes(chat));
    const newestFirst = [...kept].sort((a, b) => b.updatedAt - a.updatedAt || b.createdAt - a.createdAt);
    doomed.push(...newestFirst.slice(criteria.maxChats));
  }
  return doomed;
}

async function requireChat(context: AppContext, rawId: string): Promise<ChatRecord> {
  const chatId = readChatId(rawId, "chatId")!;
  const chat = await context.store.getChat(chatId);
  if (!chat) throw notFound(chatId);
  return chat;
}

function notFound(chatId: string): RequestError {
  return new RequestError(`Chat ${chatId} does not exist`, {
    status: 404,
    code: "chat_not_found",
    param: "chatId",
  });
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue?.path.map(String).join(".") || null;
  throw new RequestError(param ? `Invalid value for '${param}': ${issue?.message}` : "Invalid body", {
    param,
  });
}

function readName(value: string): string {
  const name = value.trim();
  if (name === "") throw new RequestError("'name' must not be empty", { param: "name" });
  if (name.length > NAME_LIMIT) {
    throw new RequestError(`'name' is longer than ${NAME_LIMIT} characters`, { param: "name" });
  }
  return name;
}

function readInteger(value: string | undefined, param: string, fallback: number, min: number, max: number) {
  if (value === undefined || value === "") return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new RequestError(`'${param}' must be a whole number from ${min} to ${max}`, { param });
  }
  return number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The fields every chat answer starts with. */
function chatHeader(chat: Pick<ChatRecord, "id" | "name" | "model" | "createdAt" | "updatedAt">) {
  return {
    chatId: chat.id,
    name: chat.name,
    model: chat.model,
    createdAt: iso(chat.createdAt),
    updatedAt: iso(chat.updatedAt),
  };
}

function summaryJson(chat: ChatSummary) {
  return { ...chatHeader(chat), messageCount: chat.messageCount, userMessageCount: chat.userMessageCount };
}

function chatJson(chat: ChatRecord) {
  return {
    ...chatHeader(chat),
    messages: chat.messages.map((message) => ({
      id: message.id,
      role: message.role,
      content: message.content,
      ...(message.parts ? { parts: message.parts } : {}),
      ...(message.reasoning ? { reasoning: message.reasoning } : {}),
      ...(message.model ? { model: message.model } : {}),
      ...(message.usage ? { usage: message.usage } : {}),
      status: message.status,
      ...(message.error ? { error: message.error } : {}),
      createdAt: iso(message.createdAt),
    })),
  };
}
