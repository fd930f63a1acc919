/**
 * Maps `items` through `fn` with at most `concurrency` calls in flight, keeping input order.
 * (Written here rather than taken from p-limit: this package is compiled by its consumers'
 * own tsconfig, and p-limit 3's default export needs `esModuleInterop`.)
 */
export async function mapWithConcurrency<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
