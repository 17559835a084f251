import type { Account } from "../accounts/account-pool.js";
import type { QwenChatType } from "../qwen/chat-types.js";
import type { UpstreamChatRef } from "../store/chat-store.js";

export interface ChatReserveOptions {
  /** How long a reserved chat is trusted before it is thrown away unused. */
  ttlMs?: number;
  logger?: { warn(object: object, message: string): void };
  /** Deletes chats the reserve gives up (stale, or of an account it forgets) upstream. */
  discard?: (refs: UpstreamChatRef[]) => void;
  /** Told the reserved chats after every change, to keep them where a restart finds them. */
  onChange?: (reserved: UpstreamChatRef[]) => void;
  /** Resolves once what `onChange` was told is kept; awaited at the end of `drain`. */
  changesKept?: () => Promise<void>;
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
  readonly #discard: ChatReserveOptions["discard"];
  readonly #onChange: ChatReserveOptions["onChange"];
  readonly #changesKept: ChatReserveOptions["changesKept"];
  readonly #ready = new Map<string, Reserved>();
  readonly #filling = new Map<string, Promise<void>>();

  constructor(options: ChatReserveOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 10 * 60_000;
    this.#logger = options.logger;
    this.#discard = options.discard;
    this.#onChange = options.onChange;
    this.#changesKept = options.changesKept;
  }

  /** The chats held right now, as upstream references. */
  reserved(): UpstreamChatRef[] {
    return [...this.#ready.values()].map((item) => ({
      accountId: item.account.id,
      upstreamChatId: item.chatId,
    }));
  }

  /** A ready chat id if one is reserved, else a new one; either way the reserve is refilled. */
  async take(account: Account, model: string, chatType: QwenChatType, signal?: AbortSignal): Promise<string> {
    const key = `${account.id}|${model}|${chatType}`;
    const reserved = this.#ready.get(key);
    this.#ready.delete(key);
    const fresh = reserved && Date.now() - reserved.createdAt < this.#ttlMs ? reserved.chatId : undefined;
    // A stale one is not left behind as an empty chat in the account's list.
    if (reserved && !fresh) this.#discard?.([{ accountId: account.id, upstreamChatId: reserved.chatId }]);
    if (reserved) this.#changed();
    const chatId = fresh ?? (await account.client.createChat({ model, chatType }, { signal }));
    this.#refill(key, account, model, chatType);
    return chatId;
  }

  /** Drops what an account has reserved (its chats were refused, or it was removed). */
  forget(accountId: string): void {
    const dropped: UpstreamChatRef[] = [];
    for (const [key, item] of [...this.#ready]) {
      if (!key.startsWith(`${accountId}|`)) continue;
      this.#ready.delete(key);
      dropped.push({ accountId, upstreamChatId: item.chatId });
    }
    if (dropped.length === 0) return;
    this.#discard?.(dropped);
    this.#changed();
  }

  /** Deletes the unused reserved chats upstream, so they do not linger in the accounts' lists. */
  async drain(): Promise<void> {
    await Promise.allSettled(this.#filling.values());
    const reserved = [...this.#ready.values()];
    this.#ready.clear();
    this.#changed();
    await Promise.allSettled(
      reserved.map((item) =>
        item.account.client.deleteChat(item.chatId, { signal: AbortSignal.timeout(5_000) }),
      ),
    );
    await this.#changesKept?.();
  }

  #changed(): void {
    try {
      this.#onChange?.(this.reserved());
    } catch (error) {
      this.#logger?.warn({ err: error }, "could not note the reserved chats");
    }
  }

  #refill(key: string, account: Account, model: string, chatType: QwenChatType): void {
    if (this.#filling.has(key)) return;
    const filling = account.client
      .createChat({ model, chatType })
      .then((chatId) => {
        this.#ready.set(key, { chatId, createdAt: Date.now(), account });
        this.#changed();
      })
      .catch((error: unknown) => {
        this.#logger?.warn({ account: account.id, err: error }, "could not reserve an upstream chat");
      })
      .finally(() => this.#filling.delete(key));
    this.#filling.set(key, filling);
  }
}
