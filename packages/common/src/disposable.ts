/** Explicit lifetimes (VS Code's lifecycle.ts): everything that must be released is a Disposable. */

export interface Disposable {
  dispose(): void;
}

/** Collects disposables and releases them together, in reverse order. */
export class DisposableStore implements Disposable {
  private items: Disposable[] = [];
  private disposed = false;

  add<T extends Disposable>(item: T): T {
    if (this.disposed) {
      item.dispose();
    } else {
      this.items.push(item);
    }
    return item;
  }

  /** Release one item now and forget it. */
  delete(item: Disposable): void {
    this.items = this.items.filter((i) => i !== item);
    item.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  get size(): number {
    return this.items.length;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const items = this.items.reverse();
    this.items = [];
    for (const item of items) item.dispose();
  }
}

export function toDisposable(fn: () => void): Disposable {
  let done = false;
  return {
    dispose() {
      if (!done) {
        done = true;
        fn();
      }
    },
  };
}
