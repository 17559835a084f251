import type { AccountPool } from "../accounts/account-pool.js";
import type { Accounts } from "../accounts/create-accounts.js";
import type { Config } from "../config/config.js";
import type { UpstreamChatReserve } from "../conversation/chat-reserve.js";
import type { ConversationService, Turn, TurnRequest } from "../conversation/conversation-service.js";
import { type ModelSelection, type ModelSwitches, selectModel } from "../conversation/model-selection.js";
import type { TurnMessage } from "../conversation/turn-message.js";
import type { UpstreamCleanup } from "../conversation/upstream-cleanup.js";
import { ServiceError } from "../errors.js";
import type { AccountUploads } from "../files/account-uploads.js";
import type { FileStore } from "../files/file-store.js";
import type { AttachmentIngest } from "../files/ingest.js";
import type { ModelCatalogue } from "../qwen/models.js";
import type { ChatStore } from "../store/chat-store.js";
import { RequestError } from "./http-errors.js";

/** What the routes share. Built once at start-up (see create-server.ts). */
export interface AppContext {
  config: Config;
  store: ChatStore;
  accounts: AccountPool;
  catalogue: ModelCatalogue;
  conversations: ConversationService;
  upstreamCleanup: UpstreamCleanup;
  /** Attachments from clients, checked and kept. */
  ingest: AttachmentIngest;
  /** Where those attachments are kept (DATA_DIR/files). */
  files: FileStore;
  uploads: AccountUploads;
  reserve: UpstreamChatReserve | undefined;
  /** The accounts with their browsers and token keeper, for shutdown. */
  accountsRuntime: Accounts;
  startedAt: number;
  version: string;
}

/** The requested model against the live catalogue, or a 404 `model_not_found`. */
export async function resolveModel(
  context: AppContext,
  requested: string | undefined,
  switches: ModelSwitches = {},
): Promise<ModelSelection> {
  const name = requested?.trim() || context.config.defaultModel;
  const models = await context.catalogue.list();
  const selection = selectModel(name, models, switches);
  if (!selection) {
    throw new RequestError(`The model '${name}' does not exist; GET /v1/models lists the available ones`, {
      status: 404,
      code: "model_not_found",
      param: "model",
    });
  }
  return selection;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A chat id from a client: absent, or a UUID (never used to touch anything before this check). */
export function readChatId(value: unknown, param: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string" || !UUID.test(value)) {
    throw new RequestError(`'${param}' must be a chat id (a UUID)`, { param, code: "invalid_chat_id" });
  }
  return value.toLowerCase();
}

/**
 * Starts a turn; an unknown chat is a 404 naming the field as this surface spells it.
 */
export async function startTurnFor(
  context: AppContext,
  request: TurnRequest,
  chatIdParam: string,
): Promise<Turn> {
  try {
    return await context.conversations.startTurn(request);
  } catch (error) {
    if (error instanceof ServiceError && error.code === "chat_not_found") {
      throw new RequestError(error.message, { status: 404, code: "chat_not_found", param: chatIdParam });
    }
    throw error;
  }
}

/**
 * The new message with its attachments fetched, decoded or looked up and kept, so every
 * account the turn may go to gets the same checked bytes. Refusals name the request field.
 */
export async function ingestAttachments(
  context: AppContext,
  message: TurnMessage,
  params: readonly string[],
  signal?: AbortSignal,
): Promise<TurnMessage> {
  const attachments: string[] = [];
  for (const [index, ref] of message.attachments.entries()) {
    const param = params[index] ?? "attachments";
    attachments.push(
      ref.startsWith("file:")
        ? context.ingest.fromFileId(ref.slice("file:".length), param)
        : await context.ingest.fromUrl(ref, param, signal),
    );
  }
  return { ...message, attachments };
}
