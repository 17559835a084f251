import type { ChatMessageRecord, ChatRecord } from "../fake-state.js";
import { sendBadRequest, sendNotFoundBusiness, sendSuccess } from "../http-replies.js";
import { findModel } from "../models-catalogue.js";
import { headerValue, parseJsonObject, type RequestContext } from "../request-context.js";
import { sendScenarioReply } from "../scenario-replies.js";
import { isVersionAtLeast } from "../spa-version.js";

// Chat lifecycle (§1.2, §3.1): create, list, read, delete. Chats belong to the account
// that created them; anyone else gets the same "not found" as for a missing chat.

const defaultPageSize = 20;

export function handleNewChat(context: RequestContext): void {
  const accountId = context.auth.accountId as string;
  const body = parseJsonObject(context.rawBody);
  if (!body) {
    sendBadRequest(context.response, "Invalid input the request body is not valid JSON.");
    return;
  }
  // A stale SPA build is not refused outright: the chat simply never gets an id (S7 #9399).
  if (!isVersionAtLeast(headerValue(context.request, "version"), context.settings.minSpaVersion)) {
    sendSuccess(context.response, {});
    return;
  }
  const models = body.models;
  if (!Array.isArray(models) || models.length === 0) {
    sendBadRequest(context.response, "Invalid input models is required.");
    return;
  }
  const model = findModel(models[0]);
  if (!model?.isActive) {
    sendBadRequest(context.response, `Invalid input model ${String(models[0])} not found.`);
    return;
  }
  const scenario = context.scenarios.take("business", "new-chat", accountId);
  if (scenario) {
    sendScenarioReply(context.response, scenario);
    return;
  }
  const chat = context.state.createChat({
    accountId,
    title: typeof body.title === "string" && body.title.trim() !== "" ? body.title : "New Chat",
    chatType: typeof body.chat_type === "string" ? body.chat_type : "t2t",
    models: [model.id],
  });
  sendSuccess(context.response, {
    ...chatSummary(chat),
    user_id: accountId,
    models: chat.models,
    chat: { history: { messages: {}, currentId: null }, models: chat.models, messages: [] },
    meta: {},
    share_id: null,
    currentId: null,
    currentResponseIds: [],
  });
}

export function handleListChats(context: RequestContext): void {
  const chats = context.state.chatsOf(context.auth.accountId as string);
  const page = positiveInteger(context.query.page) ?? 1;
  const limit = positiveInteger(context.query.limit);
  const pageSize = limit ?? defaultPageSize;
  const slice = chats.slice((page - 1) * pageSize, page * pageSize);
  sendSuccess(context.response, slice.map(chatSummary));
}

export function handleChatDetail(context: RequestContext, chatId: string): void {
  const chat = context.state.ownedChat(chatId, context.auth.accountId as string);
  if (!chat) {
    sendNotFoundBusiness(context.response);
    return;
  }
  const lastMessage = chat.messages.at(-1);
  const wire = chat.messages.map(messageToWire);
  // Since 2026-08 the map is empty and the history lives in the flat array (§1.2); before,
  // the map (message id → message) held it.
  const inMap = context.state.chatDetailShape === "map";
  sendSuccess(context.response, {
    ...chatSummary(chat),
    user_id: chat.accountId,
    models: chat.models,
    chat: {
      history: {
        messages: inMap
          ? Object.fromEntries(chat.messages.map((message, index) => [message.id, wire[index]]))
          : {},
        currentId: lastMessage?.id ?? null,
      },
      models: chat.models,
      messages: inMap ? [] : wire,
    },
    currentId: lastMessage?.id ?? null,
  });
}

export function handleDeleteChat(context: RequestContext, chatId: string): void {
  const chat = context.state.ownedChat(chatId, context.auth.accountId as string);
  if (!chat) {
    sendNotFoundBusiness(context.response);
    return;
  }
  context.state.chats.delete(chat.id);
  sendSuccess(context.response, { status: true });
}

function chatSummary(chat: ChatRecord): Record<string, unknown> {
  return {
    id: chat.id,
    title: chat.title,
    updated_at: chat.updatedAt,
    created_at: chat.createdAt,
    chat_type: chat.chatType,
    pinned: false,
    archived: false,
    folder_id: null,
    project_id: "",
  };
}

function messageToWire(message: ChatMessageRecord): Record<string, unknown> {
  const common = {
    id: message.id,
    role: message.role,
    content: message.content,
    parentId: message.parentId,
    childrenIds: message.childrenIds,
    timestamp: message.timestamp,
    chat_type: message.chatType,
    sub_chat_type: message.chatType,
  };
  if (message.role === "user") {
    return { ...common, models: [message.model], files: message.files, user_action: "chat" };
  }
  const answerEntry = { phase: "answer", content: message.content, status: "finished", extra: {} };
  return {
    ...common,
    model: message.model,
    modelName: message.model,
    reasoning_content: message.reasoningContent,
    content_list: [...message.contentList, answerEntry],
    extra: message.extra,
    done: true,
  };
}

function positiveInteger(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const parsed = Number.parseInt(value, 10);
  return parsed > 0 ? parsed : undefined;
}
