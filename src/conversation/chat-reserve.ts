import type { Account } from "../accounts/account-pool.js";
import type { QwenChatType } from "../qwen/chat-types.js";

export interface ChatReserveOptions {
  /** How long a reserved chat is trusted before it is thrown away unused. */
  ttlMs?: number;
  logger?: { warn(object: object, message: string): void };
}

interface Reserved {
  chatId: string;
  createdAt: number;
  account: Account;
}

/**
 * Upstream chats created ahead of need, one per account, model and mode: a new conversation
 * then starts without waiting a round trip to chat.qwen.ai for `chats/new`. The chat belongs
 * to the account that created it, like every upstream chat.
 */
export class UpstreamChatReserve {
  readonly #ttlMs: number;
  readonly #logger: ChatReserveOptions["logger"];
  readonly #ready = new Map<string, Reserved>();
  readonly #filling = new Map<string, Promise<void>>();

  constructor(options: ChatReserveOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 10 * 60_000;
    this.#logger = options.logger;
  }

  /** A ready chat id if one is reserved, else a new one; either way the reserve is refilled. */
  async take(account: Account, model: string, chatType: QwenChatType, signal?: AbortSignal): Promise<string> {
    const key = `${account.id}|${model}|${chatType}`;
    const reserved = this.#ready.get(key);
    this.#ready.delete(key);
    const fresh = reserved && Date.now() - reserved.createdAt < this.#ttlMs ? reserved.chatId : undefined;
    const chatId = fresh ?? (await account.client.createChat({ model, chatType }, { signal }));
    this.#refill(key, account, model, chatType);
    return chatId;
  }

  /** Drops what an account has reserved (its chats were refused, or it was removed). */
  forget(accountId: string): void {
    for (const key of [...this.#ready.keys()]) {
      if (key.startsWith(`${accountId}|`)) this.#ready.delete(key);
    }
  }

  /** Deletes the unused reserved chats upstream, so they do not linger in the accounts' lists. */
  async drain(): Promise<void> {
    await Promise.allSettled(this.#filling.values());
    const reserved = [...this.#ready.values()];
    this.#ready.clear();
    await Promise.allSettled(
      reserved.map((item) =>
        item.account.client.deleteChat(item.chatId, { signal: AbortSignal.timeout(5_000) }),
      ),
    );
  }

  #refill(key: string, account: Account, model: string, chatType: QwenChatType): void {
    if (this.#filling.has(key)) return;
    const filling = account.client
      .createChat({ model, chatType })
      .then((chatId) => {
        this.#ready.set(key, { chatId, createdAt: Date.now(), account });
      })
      .catch((error: unknown) => {
        this.#logger?.warn({ account: account.id, err: error }, "could not reserve an upstream chat");
      })
      .finally(() => this.#filling.delete(key));
    this.#filling.set(key, filling);
  }
}
