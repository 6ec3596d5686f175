/**
 * Calls `fn` for each item of `items` with at most `limit` calls in flight, pulling items only as
 * workers free up, so a lazy source (a directory walk) is never read ahead into memory.
 * Async generators queue concurrent next() calls, so the workers may share one iterator.
 */
export async function forEachLimited<T>(
  items: AsyncIterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.asyncIterator]();
  const worker = async (): Promise<void> => {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      await fn(next.value);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
}
