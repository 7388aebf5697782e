/**
 * Group commit: work items that arrive together are written in one transaction (one commit,
 * one disk sync) by `writeAll`, which returns one result per item in order. Up to `parallel`
 * batches are written at once (1: strictly one after another); items that arrive meanwhile
 * form the next. When a batch fails, its members are tried
 * again one by one, so a bad item fails alone, never its neighbours.
 */
export class GroupCommit<I, R> {
  private queue: Array<{ item: I; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private flushing = 0;

  constructor(
    private readonly writeAll: (items: I[]) => Promise<R[]>,
    private readonly maxBatch: number,
    /** Called after each batch is written (e.g. to wake the deliverer). */
    private readonly afterBatch: () => void = () => undefined,
    private readonly parallel = 1,
  ) {}

  add(item: I): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.flushing < this.parallel) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing >= this.parallel || this.queue.length === 0) return;
    this.flushing++;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const results = await this.writeAll(batch.map((b) => b.item));
          batch.forEach((b, i) => b.resolve(results[i]));
        } catch (err) {
          if (batch.length === 1) batch[0].reject(err);
          else {
            for (const b of batch) {
              try {
                b.resolve((await this.writeAll([b.item]))[0]);
              } catch (one) {
                b.reject(one);
              }
            }
          }
        }
        this.afterBatch();
      }
    } finally {
      this.flushing--;
    }
  }
}
