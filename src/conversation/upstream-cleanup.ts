import type { AccountPool } from "../accounts/account-pool.js";
import type { UpstreamChatRef } from "../store/chat-store.js";

/**
 * Deletes upstream chats in the background, best effort: a local delete never waits for
 * Qwen, and a failure here only leaves a chat in the account's Qwen history.
 */
export class UpstreamCleanup {
  readonly #accounts: AccountPool;
  readonly #logger: { warn(object: object, message: string): void } | undefined;
  #pending: Promise<void> = Promise.resolve();

  constructor(accounts: AccountPool, logger?: { warn(object: object, message: string): void }) {
    this.#accounts = accounts;
    this.#logger = logger;
  }

  /** Queues the deletions; they run one after another, never in the request path. */
  enqueue(refs: readonly UpstreamChatRef[]): void {
    if (refs.length === 0) return;
    this.#pending = this.#pending.then(() => this.#deleteAll(refs));
  }

  /** Resolves when everything queued so far was tried (for shutdown and tests). */
  idle(): Promise<void> {
    return this.#pending;
  }

  async #deleteAll(refs: readonly UpstreamChatRef[]): Promise<void> {
    for (const ref of refs) {
      const account = this.#accounts.get(ref.accountId);
      if (!account) continue;
      try {
        await account.client.deleteChat(ref.upstreamChatId, { signal: AbortSignal.timeout(15_000) });
      } catch (error) {
        this.#logger?.warn(
          { account: ref.accountId, upstreamChatId: ref.upstreamChatId, err: error },
          "could not delete the upstream chat",
        );
      }
    }
  }
}
