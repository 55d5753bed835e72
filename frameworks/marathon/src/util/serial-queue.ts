/**
 * Runs async jobs one after another, in submission order, so a component's
 * multi-step state changes (validate, write to the store, update memory)
 * never interleave across `await`s. A failing job rejects its own promise
 * only; the queue goes on.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(job: () => Promise<T> | T): Promise<T> {
    this.pending++;
    const result = this.tail.then(job);
    this.tail = result.then(
      () => this.pending--,
      () => this.pending--,
    );
    return result;
  }

  /** Jobs submitted and not yet finished. */
  get size(): number {
    return this.pending;
  }

  /** Resolves when every job submitted so far has finished. */
  async drain(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }
}
