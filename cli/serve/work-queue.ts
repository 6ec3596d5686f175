export interface WorkQueueOptions<T> {
  /** Items waiting in memory at most; beyond it offer() refuses and put() waits. */
  readonly capacity: number;
  /** Items running at once. */
  readonly concurrency: number;
  /** Items with the same key never run at once, and run in the order they arrived. */
  readonly keyOf: (item: T) => string;
  /** Does the work; must handle its own errors (a rejection is reported to onError). */
  readonly run: (item: T) => Promise<void>;
  readonly onError: (error: unknown, item: T) => void;
}

/**
 * A bounded queue with bounded concurrency. Producers that cannot wait (s3rver's event emitter)
 * use offer() and handle a refusal; producers that can (reconciliation) use put() and are held
 * back until there is room, so memory stays bounded either way.
 */
export class WorkQueue<T> {
  private readonly waiting: T[] = [];
  private readonly runningKeys = new Set<string>();
  private running = 0;
  private closed = false;
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: WorkQueueOptions<T>) {}

  get size(): { waiting: number; running: number } {
    return { waiting: this.waiting.length, running: this.running };
  }

  /** Queues the item if there is room; false when the queue is full or closed. */
  offer(item: T): boolean {
    if (this.closed || this.waiting.length >= this.options.capacity) return false;
    this.waiting.push(item);
    this.pump();
    return true;
  }

  /** Queues the item, waiting for room; false when the queue was closed meanwhile. */
  async put(item: T): Promise<boolean> {
    while (!this.offer(item)) {
      if (this.closed) return false;
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    return true;
  }

  /** Resolves when nothing is waiting or running. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops starting items and resolves when the running ones have finished. Returns how many
   * were left waiting (the caller's reconciliation redoes them at next start).
   */
  async close(): Promise<number> {
    this.closed = true;
    const dropped = this.waiting.splice(0).length;
    this.wake("roomWaiters");
    await this.idle();
    return dropped;
  }

  private pump(): void {
    while (!this.closed && this.running < this.options.concurrency) {
      const index = this.waiting.findIndex(
        (item) => !this.runningKeys.has(this.options.keyOf(item)),
      );
      if (index === -1) break;
      const [item] = this.waiting.splice(index, 1) as [T];
      this.start(item);
    }
    this.wake("roomWaiters");
    if (this.running === 0 && this.waiting.length === 0) this.wake("idleWaiters");
  }

  private start(item: T): void {
    const key = this.options.keyOf(item);
    this.running += 1;
    this.runningKeys.add(key);
    this.options
      .run(item)
      .catch((error: unknown) => this.options.onError(error, item))
      .finally(() => {
        this.running -= 1;
        this.runningKeys.delete(key);
        this.pump();
      });
  }

  private wake(which: "roomWaiters" | "idleWaiters"): void {
    const waiters = this[which];
    this[which] = [];
    for (const resolve of waiters) resolve();
  }
}
