import type { Account, AccountPool } from "../accounts/account-pool.js";
import { QwenError, ServiceError } from "../errors.js";
import type { QwenEvent } from "../events.js";
import type { AccountUploads } from "../files/account-uploads.js";
import type { QwenAspectRatio } from "../qwen/chat-types.js";
import type { ChatRecord, ChatStore, MessagePart } from "../store/chat-store.js";
import type { UpstreamChatReserve } from "./chat-reserve.js";
import { foldHistory, toUpstreamContent } from "./fold-history.js";
import { type AnswerFormat, jsonInstruction, stripJsonFences } from "./json-answer.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { isMediaChatType, withMediaFallback } from "./media-fallback.js";
import type { ModelSelection } from "./model-selection.js";
import { applyOutputLimits, hasOutputLimits, type LimitState, type OutputLimits } from "./output-limits.js";
import { ReplyRecorder } from "./reply-recorder.js";
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
  /** Native API: system instructions for a chat that has no messages yet. */
  system?: string[];
  /** Continue this local chat; absent: find one by history, or start one. */
  chatId?: string;
  /** Name of the chat if one is created. */
  newChatName?: string;
  size?: QwenAspectRatio;
  /** Where the client wants the answer cut (OpenAI `stop`, `max_tokens`). */
  limits?: OutputLimits;
  /** OpenAI `response_format` JSON modes: asked for in words, fences taken off the answer. */
  answerFormat?: AnswerFormat;
  signal?: AbortSignal;
}

/** Earlier files a folded turn carries along: enough for "that picture", not the whole album. */
const MAX_CARRIED_ATTACHMENTS = 4;

/** The pause before a transient failure is tried again (what S2 and S4 wait, §4.6). */
const TRANSIENT_RETRY_DELAY_MS = 800;

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
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
  /** Uploads a turn's files to the account that runs it. */
  uploads: AccountUploads;
  /** Upstream chats created ahead of need (PREWARM_CHATS); absent: created when needed. */
  reserve?: UpstreamChatReserve;
  /**
   * Makes an attachment of an earlier message usable (downloads or checks it, as for a new
   * message). With it, a folded history carries its latest files along, so the model still
   * sees an image the conversation talks about after a move to a new upstream chat.
   */
  prepareHistoryAttachment?: (ref: string, signal?: AbortSignal) => Promise<string>;
  /** Tries per turn, across accounts, before a failure is returned. */
  maxAttempts?: number;
  logger?: { warn(object: object, message: string): void };
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
  readonly #uploads: AccountUploads;
  readonly #reserve: UpstreamChatReserve | undefined;
  readonly #prepareHistoryAttachment: ConversationServiceOptions["prepareHistoryAttachment"];

  constructor(options: ConversationServiceOptions) {
    this.#store = options.store;
    this.#accounts = options.accounts;
    this.#uploads = options.uploads;
    this.#reserve = options.reserve;
    this.#prepareHistoryAttachment = options.prepareHistoryAttachment;
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
      let chat = await this.#store.getChat(chatId);
      if (!chat) throw new ServiceError("chat_not_found", `Chat ${chatId} was deleted`);
      if (request.system?.length && chat.messages.length === 0) {
        for (const text of request.system)
          await this.#store.appendMessage(chatId, { role: "system", content: text });
        chat = (await this.#store.getChat(chatId)) ?? chat;
      }
      const history = request.clientHistory ?? storedHistory(chat.messages);
      const historyHash = hashHistory(history);
      await this.#store.appendMessage(chatId, {
        role: "user",
        content: request.message.text,
        ...partsOf(request.message),
      });

      const recorder = new ReplyRecorder(this.#store, chatId, request.selection.requested);
      const excluded = new Set<string>();
      let binding = chat.binding && chat.historyHash === historyHash ? chat.binding : undefined;
      let lastError: unknown;
      let refusals = 0;
      let transientRetries = 0;
      let mediaJobAccepted = false;

      let pauseBeforeRetry = false;

      for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
        if (pauseBeforeRetry) await delay(TRANSIENT_RETRY_DELAY_MS, request.signal);
        pauseBeforeRetry = false;
        let account: Account;
        try {
          account = await this.#acquire(binding?.accountId, excluded, lastError, request.signal);
        } catch (error) {
          // No account is left to try: the turn is over, and the store must say so.
          await recorder.fail(error);
          throw error;
        }
        const continuing = binding !== undefined && binding.accountId === account.id;
        let accepted = false;
        try {
          const upstreamChatId = continuing
            ? binding!.upstreamChatId
            : await this.#createUpstreamChat(account, chatId, request);
          const told = continuing ? request.message.text : foldHistory(history, request.message);
          const text = request.answerFormat ? `${told}\n\n${jsonInstruction(request.answerFormat)}` : told;
          const carried = continuing ? [] : await this.#carriedAttachments(history, request);
          const attached = await this.#uploads.prepare(
            // The same file twice (an image the client sends with every turn) goes once.
            [...new Set([...carried, ...request.message.attachments])],
            account,
            request.signal,
          );
          const stream = account.client.streamCompletion(
            {
              chatId: upstreamChatId,
              model: request.selection.model.id,
              content: toUpstreamContent(text, attached.imageUrls),
              files: attached.files,
              parentId: continuing ? binding!.lastResponseId : null,
              chatType: request.selection.chatType,
              thinking: request.selection.thinking,
              search: request.selection.search,
              size: request.size,
            },
            { signal: request.signal },
          );
          const limited: LimitState = {};
          // Each stage is a hop per event: only the ones this turn needs are put in the way.
          let events: AsyncIterable<QwenEvent> = stream;
          if (isMediaChatType(request.selection.chatType)) {
            events = withMediaFallback(events, {
              client: account.client,
              chatId: upstreamChatId,
              chatType: request.selection.chatType,
              previousResponseId: continuing ? binding!.lastResponseId : null,
              signal: request.signal,
            });
          }
          if (request.answerFormat) events = stripJsonFences(events);
          if (hasOutputLimits(request.limits)) events = applyOutputLimits(events, request.limits, limited);
          for await (const event of events) {
            if (event.type === "video-task") {
              // A media job upstream accepted (and counts against a daily quota) is never
              // submitted again: a failure from here on ends the turn.
              mediaJobAccepted = true;
              for await (const videoEvent of this.#video(account, event.taskId, request.signal)) {
                await recorder.record(videoEvent);
                yield videoEvent;
              }
              continue;
            }
            await recorder.record(event);
            if (event.type === "response-created") {
              state.responseId = event.responseId;
              accepted = true;
            }
            yield event;
          }
          this.#accounts.reportSuccess(account);
          await recorder.complete();
          // A reply cut short here is longer upstream: that thread no longer matches the
          // history, so the next turn folds it instead of continuing the thread.
          await this.#bind(chatId, request, recorder, history, {
            accountId: account.id,
            upstreamChatId,
            continuable: limited.cut === undefined,
          });
          return;
        } catch (error) {
          lastError = error;
          if (error instanceof QwenError && error.accountFault) this.#accounts.reportFailure(account, error);
          // Content filters differ a little between accounts: a refusal gets one second
          // opinion, not a tour of every account.
          const refusedAgain = error instanceof QwenError && error.code === "moderation" && ++refusals > 1;
          const retry =
            !refusedAgain &&
            !mediaJobAccepted &&
            !recorder.visible &&
            error instanceof QwenError &&
            error.retryable &&
            attempt < this.#maxAttempts;
          if (!retry) {
            await recorder.fail(error);
            throw error;
          }
          this.#logger?.warn(
            { code: error.code, account: account.id, attempt },
            "upstream failed before answering; trying again",
          );
          if (error.code === "chat_not_found") {
            // A thread that is gone is folded on the same account; chats reserved on an
            // account whose chats are refused are no better.
            this.#reserve?.forget(account.id);
          } else if (
            error.code === "empty_response" &&
            (await account.transport.escalate?.("upstream sent an empty stream: the anti-bot wall, likely"))
          ) {
            // The same account, through its browser page this time.
            this.#logger?.warn(
              { account: account.id },
              "empty stream on plain HTTP; retrying through the browser",
            );
          } else if (
            error.code !== "timeout" &&
            !error.accountFault &&
            // Once upstream accepted the request it may be running it: only another account
            // may take the turn over (as before), never this one a second time.
            !accepted &&
            transientRetries++ === 0
          ) {
            // A passing upstream fault ("Internal error", a 5xx, a cut connection) gets one
            // more try after a pause, on this account too (the only one, for many users). A
            // timeout has cost the user its whole length already: it moves on. The pause is
            // taken with the account released, so others' requests are not held up by it.
            pauseBeforeRetry = true;
          } else {
            excluded.add(account.id);
          }
          binding = undefined;
        } finally {
          this.#accounts.release(account);
        }
      }
    } finally {
      release();
    }
  }

  /**
   * The latest attachments of the earlier messages (at most MAX_CARRIED_ATTACHMENTS), made
   * usable again for a folded turn. One that cannot be (a URL that is gone) is left out: the
   * folded text still names it.
   */
  async #carriedAttachments(history: readonly TurnMessage[], request: TurnRequest): Promise<string[]> {
    const prepare = this.#prepareHistoryAttachment;
    if (!prepare) return [];
    const refs = history.flatMap((message) => message.attachments).slice(-MAX_CARRIED_ATTACHMENTS);
    const carried: string[] = [];
    for (const ref of refs) {
      try {
        carried.push(await prepare(ref, request.signal));
      } catch (error) {
        if (request.signal?.aborted) throw error;
        this.#logger?.warn(
          { err: error },
          "an earlier attachment could not be carried into the folded history",
        );
      }
    }
    return carried;
  }

  async #createUpstreamChat(account: Account, chatId: string, request: TurnRequest): Promise<string> {
    const { model, chatType } = request.selection;
    const upstreamChatId = this.#reserve
      ? await this.#reserve.take(account, model.id, chatType, request.signal)
      : await account.client.createChat({ model: model.id, chatType }, { signal: request.signal });
    await this.#store.addUpstreamChat(chatId, { accountId: account.id, upstreamChatId });
    return upstreamChatId;
  }

  async #acquire(
    prefer: string | undefined,
    excluded: ReadonlySet<string>,
    lastError: unknown,
    signal: AbortSignal | undefined,
  ): Promise<Account> {
    try {
      return await this.#accounts.acquire({ prefer, exclude: excluded, signal });
    } catch (error) {
      // After a failed attempt, that failure explains more than "no account left".
      if (lastError && error instanceof ServiceError) throw lastError;
      if (signal?.aborted) throw new QwenError("aborted", "The request was aborted");
      throw error;
    }
  }

  async *#video(
    account: Account,
    taskId: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<QwenEvent> {
    const url = await waitForVideo(account.client, taskId, { signal });
    yield { type: "text-delta", text: url };
    yield { type: "finish", reason: "stop" };
  }

  /** After a complete turn: the chat's history hash and the thread to continue next time. */
  async #bind(
    chatId: string,
    request: TurnRequest,
    recorder: ReplyRecorder,
    history: TurnMessage[],
    upstream: { accountId: string; upstreamChatId: string; continuable: boolean },
  ): Promise<void> {
    const assistant: TurnMessage = { role: "assistant", text: recorder.content(), attachments: [] };
    const newHash = hashHistory([...history, request.message, assistant]);
    await this.#store.setHistoryHash(chatId, newHash);
    const { accountId, upstreamChatId, continuable } = upstream;
    await this.#store.setBinding(
      chatId,
      recorder.responseId && continuable
        ? {
            accountId,
            upstreamChatId,
            lastResponseId: recorder.responseId,
            syncedMessageCount: history.length + 2,
          }
        : undefined,
    );
  }
}

function partsOf(message: TurnMessage): { parts?: MessagePart[] } {
  if (message.attachments.length === 0) return {};
  return {
    parts: [
      { type: "text", text: message.text },
      ...message.attachments.map((url): MessagePart => ({ type: "file", url })),
    ],
  };
}
