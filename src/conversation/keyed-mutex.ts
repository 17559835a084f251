/**
 * One turn at a time per chat: a second turn sent to the same chat waits for the first,
 * so a history never interleaves. Keys with no waiters are forgotten.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  /** Resolves with a release function once every earlier holder of `key` has released. */
  async acquire(key: string): Promise<() => void> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.#tails.set(key, tail);
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
  }
}
