import type { Account, AccountPool } from "../accounts/account-pool.js";
import { QwenError, ServiceError } from "../errors.js";
import type { QwenEvent, SearchResult, TokenUsage } from "../events.js";
import type { QwenAspectRatio } from "../qwen/chat-types.js";
import type { ChatRecord, ChatStore, MessagePart } from "../store/chat-store.js";
import { foldHistory, toUpstreamContent } from "./fold-history.js";
import { KeyedMutex } from "./keyed-mutex.js";
import type { ModelSelection } from "./model-selection.js";
import { formatImage, formatSources } from "./reply-format.js";
import { hashHistory, storedHistory, type TurnMessage } from "./turn-message.js";
import { waitForVideo } from "./wait-for-video.js";

export interface TurnRequest {
  selection: ModelSelection;
  /** The new user message. */
  message: TurnMessage;
  /**
   * OpenAI style: everything before the new message, as the client holds it. Absent: the
   * stored history of the chat is the context (native API).
   */
  clientHistory?: TurnMessage[];
  /** Continue this local chat; absent: find one by history, or start one. */
  chatId?: string;
  /** Name of the chat if one is created. */
  newChatName?: string;
  size?: QwenAspectRatio;
  signal?: AbortSignal;
}

export interface Turn {
  chatId: string;
  /** The reply as events. Iterate it to run the turn; stopping early aborts upstream. */
  events: AsyncGenerator<QwenEvent>;
  /** Upstream's id of the reply, known once it started (the native API's `parentId`). */
  readonly responseId: string | undefined;
}

export interface ConversationServiceOptions {
  store: ChatStore;
  accounts: AccountPool;
  /** Tries per turn, across accounts, before a failure is returned. */
  maxAttempts?: number;
  logger?: { warn(object: object, message: string): void };
}

/** What one reply accumulated, to be stored. */
interface Reply {
  text: string;
  reasoning: string;
  images: string[];
  sources: SearchResult[];
  usage?: TokenUsage;
  responseId?: string;
  visible: boolean;
}

/**
 * Runs turns: finds or creates the local chat, chooses the account, decides whether the
 * upstream thread can be continued or the history must be folded, streams the reply and
 * stores it (ARCHITECTURE.md, "Conversation mapping").
 */
export class ConversationService {
  readonly #store: ChatStore;
  readonly #accounts: AccountPool;
  readonly #maxAttempts: number;
  readonly #logger: ConversationServiceOptions["logger"];
  readonly #locks = new KeyedMutex();

  constructor(options: ConversationServiceOptions) {
    this.#store = options.store;
    this.#accounts = options.accounts;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#logger = options.logger;
  }

  /** Resolves the chat (throws ServiceError chat_not_found) and prepares the turn. */
  async startTurn(request: TurnRequest): Promise<Turn> {
    const chat = await this.#resolveChat(request);
    const state: { responseId: string | undefined } = { responseId: undefined };
    return {
      chatId: chat.id,
      events: this.#run(chat.id, request, state),
      get responseId() {
        return state.responseId;
      },
    };
  }

  async #resolveChat(request: TurnRequest): Promise<ChatRecord> {
    if (request.chatId) {
      const chat = await this.#store.getChat(request.chatId);
      if (!chat) throw new ServiceError("chat_not_found", `Chat ${request.chatId} does not exist`);
      return chat;
    }
    const history = request.clientHistory ?? [];
    if (history.some((message) => message.role !== "system")) {
      const found = await this.#store.findByHistoryHash(hashHistory(history));
      if (found) return found;
    }
    const chat = await this.#store.createChat({
      name: request.newChatName ?? "New chat",
      model: request.selection.requested,
    });
    // A client that arrives with a history keeps it: the stored chat shows the whole exchange.
    for (const message of history) {
      await this.#store.appendMessage(chat.id, {
        role: message.role,
        content: message.text,
        ...partsOf(message),
      });
    }
    return chat;
  }

  async *#run(chatId: string, request: TurnRequest, state: { responseId: string | undefined }) {
    const release = await this.#locks.acquire(chatId);
    try {
      const chat = await this.#store.getChat(chatId);
      if (!chat) throw new ServiceError("chat_not_found", `Chat ${chatId} was deleted`);
      const history = request.clientHistory ?? storedHistory(chat.messages);
      const historyHash = hashHistory(history);
      await this.#store.appendMessage(chatId, {
        role: "user",
        content: request.message.text,
        ...partsOf(request.message),
      });

      const reply: Reply = { text: "", reasoning: "", images: [], sources: [], visible: false };
      const excluded = new Set<string>();
      let binding = chat.binding && chat.historyHash === historyHash ? chat.binding : undefined;
      let lastError: unknown;

      for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
        const account = this.#acquire(binding?.accountId, excluded, lastError);
        const continuing = binding !== undefined && binding.accountId === account.id;
        try {
          const upstreamChatId = continuing
            ? binding!.upstreamChatId
            : await account.client.createChat(
                { model: request.selection.model.id, chatType: request.selection.chatType },
                { signal: request.signal },
              );
          const text = continuing ? request.message.text : foldHistory(history, request.message);
          const stream = account.client.streamCompletion(
            {
              chatId: upstreamChatId,
              model: request.selection.model.id,
              content: toUpstreamContent(text, request.message.images),
              parentId: continuing ? binding!.lastResponseId : null,
              chatType: request.selection.chatType,
              thinking: request.selection.thinking,
              search: request.selection.search,
              size: request.size,
            },
            { signal: request.signal },
          );
          for await (const event of stream) {
            if (event.type === "video-task") {
              yield* this.#video(account, event.taskId, reply, request.signal);
              continue;
            }
            collect(reply, event);
            if (event.type === "response-created") state.responseId = event.responseId;
            yield event;
          }
          await this.#storeSuccess(chatId, request, reply, history, {
            accountId: account.id,
            upstreamChatId,
          });
          return;
        } catch (error) {
          lastError = error;
          if (error instanceof QwenError && error.accountFault) this.#accounts.reportFailure(account, error);
          const retry =
            !reply.visible && error instanceof QwenError && error.retryable && attempt < this.#maxAttempts;
          if (!retry) {
            await this.#storeFailure(chatId, request, reply, error);
            throw error;
          }
          this.#logger?.warn(
            { code: error.code, account: account.id, attempt },
            "upstream failed before answering; trying again",
          );
          // A thread that is gone is folded on the same account; anything else moves on.
          if (error.code !== "chat_not_found") excluded.add(account.id);
          binding = undefined;
        } finally {
          this.#accounts.release(account);
        }
      }
    } finally {
      release();
    }
  }

  #acquire(prefer: string | undefined, excluded: ReadonlySet<string>, lastError: unknown): Account {
    const account = this.#accounts.acquire({ prefer, exclude: excluded });
    if (account) return account;
    if (lastError) throw lastError;
    if (this.#accounts.size === 0) {
      throw new ServiceError(
        "no_account_available",
        "No Qwen account is configured: log in (npm start opens the browser) or set QWEN_TOKENS",
      );
    }
    const next = this.#accounts.nextAvailableAt();
    throw new ServiceError(
      "no_account_available",
      "Every Qwen account is rate-limited or unavailable right now",
      {
        retryAfterMs: next ? Math.max(1000, next - Date.now()) : 60_000,
      },
    );
  }

  async *#video(account: Account, taskId: string, reply: Reply, signal: AbortSignal | undefined) {
    const url = await waitForVideo(account.client, taskId, { signal });
    const event: QwenEvent = { type: "text-delta", text: url };
    collect(reply, event);
    yield event;
    yield { type: "finish", reason: "stop" } satisfies QwenEvent;
  }

  async #storeSuccess(
    chatId: string,
    request: TurnRequest,
    reply: Reply,
    history: TurnMessage[],
    upstream: { accountId: string; upstreamChatId: string },
  ): Promise<void> {
    const content = replyContent(reply);
    await this.#store.appendMessage(chatId, {
      role: "assistant",
      content,
      parts: reply.images.map((url) => ({ type: "image", url })),
      reasoning: reply.reasoning || undefined,
      model: request.selection.requested,
      usage: reply.usage,
    });
    const assistant: TurnMessage = { role: "assistant", text: content, images: [] };
    const newHash = hashHistory([...history, request.message, assistant]);
    await this.#store.setHistoryHash(chatId, newHash);
    await this.#store.setBinding(
      chatId,
      reply.responseId
        ? { ...upstream, lastResponseId: reply.responseId, syncedMessageCount: history.length + 2 }
        : undefined,
    );
  }

  async #storeFailure(chatId: string, request: TurnRequest, reply: Reply, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    await this.#store.appendMessage(chatId, {
      role: "assistant",
      content: replyContent(reply),
      reasoning: reply.reasoning || undefined,
      model: request.selection.requested,
      usage: reply.usage,
      status: reply.visible ? "incomplete" : "failed",
      error: message,
    });
  }
}

function collect(reply: Reply, event: QwenEvent): void {
  switch (event.type) {
    case "response-created":
      reply.responseId = event.responseId;
      break;
    case "text-delta":
      reply.text += event.text;
      reply.visible = true;
      break;
    case "reasoning-delta":
      reply.reasoning += event.text;
      reply.visible = true;
      break;
    case "image":
      reply.images.push(event.url);
      reply.visible = true;
      break;
    case "search-results":
      reply.sources.push(...event.results);
      reply.visible = true;
      break;
    case "usage":
      reply.usage = event.usage;
      break;
    default:
      break;
  }
}

/** The reply as text, as the surfaces render it: sources listed, images as markdown. */
function replyContent(reply: Reply): string {
  let content = reply.text + formatSources(reply.sources);
  reply.images.forEach((url, index) => {
    content += formatImage(url, index === 0 && content === "");
  });
  return content;
}

function partsOf(message: TurnMessage): { parts?: MessagePart[] } {
  if (message.images.length === 0) return {};
  return {
    parts: [
      { type: "text", text: message.text },
      ...message.images.map((url): MessagePart => ({ type: "image", url })),
    ],
  };
}
