import { describe, expect, it } from "vitest";
import { ChunkQueue } from "./chunk-queue.js";

const bytes = (length: number) => new Uint8Array(length);

describe("ChunkQueue", () => {
  it("holds the producer back once the high-water mark is passed, until the consumer catches up", async () => {
    const queue = new ChunkQueue(10);
    let roomAgain = false;
    await queue.push(bytes(6));
    void queue.push(bytes(6)).then(() => {
      roomAgain = true;
    });
    await Promise.resolve();
    expect(roomAgain).toBe(false);
    expect(queue.bufferedBytes).toBe(12);
    const iterator = queue[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toHaveLength(6);
    await Promise.resolve();
    expect(roomAgain).toBe(true);
  });

  it("delivers what is buffered before the end or the failure, and drops later pushes", async () => {
    const ended = new ChunkQueue(100);
    await ended.push(bytes(1));
    ended.end();
    await ended.push(bytes(2));
    const lengths: number[] = [];
    for await (const chunk of ended) lengths.push(chunk.length);
    expect(lengths).toEqual([1]);

    const failed = new ChunkQueue(100);
    await failed.push(bytes(3));
    const iterator = failed[Symbol.asyncIterator]();
    const waiting = iterator.next();
    failed.fail(new Error("cut"));
    expect((await waiting).value).toHaveLength(3);
    await expect(iterator.next()).rejects.toThrow("cut");
  });

  it("wakes a waiting reader on the next push and releases held producers on failure", async () => {
    const queue = new ChunkQueue(1);
    const iterator = queue[Symbol.asyncIterator]();
    const next = iterator.next();
    const held = queue.push(bytes(5));
    expect((await next).value).toHaveLength(5);
    await held;
    const heldAgain = queue.push(bytes(5));
    queue.fail(new Error("gone"));
    await heldAgain;
    expect(queue.finished).toBe(true);
  });
});
