/**
 * Gathers the calls made while a batch of records is being handled into one batch call and
 * answers each caller with its own result (a DataLoader for writes). Powertools hands records
 * to the handler one by one; this turns them back into one SQS or HTTP call per batch.
 */
export function coalesce<T, R>(
  flush: (items: T[]) => Promise<(R | Error)[]>,
): (item: T) => Promise<R> {
  let pending: { item: T; resolve: (value: R) => void; reject: (error: Error) => void }[] = [];
  const run = async () => {
    const batch = pending;
    pending = [];
    try {
      const results = await flush(batch.map((entry) => entry.item));
      batch.forEach((entry, index) => {
        const result = results[index];
        if (result instanceof Error) entry.reject(result);
        else if (result === undefined) entry.reject(new Error("no result for this item"));
        else entry.resolve(result);
      });
    } catch (error) {
      for (const entry of batch)
        entry.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      // The first call of a batch schedules the flush after every record's handler has queued.
      if (pending.length === 0) setImmediate(run);
      pending.push({ item, resolve, reject });
    });
}
