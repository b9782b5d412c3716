// A bound on requests in flight, shared by everything one store does.
//
// A commit is hundreds of independent writes; firing them all at once would
// queue them in the driver (2048 per connection) and in the node's native
// transport, where nothing can tell a commit's writes from a history read. Here
// at most `max` run at once; the rest wait in a FIFO (their order does not
// matter: every write of a commit is independent and idempotent).
export class InFlightLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    /** requests_in_flight_max */
    readonly max: number,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`requests_in_flight_max=${max}: must be >= 1`);
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves when a slot is ours (null: it already is, no await needed). */
  private acquire(): Promise<void> | null {
    if (this.active < this.max) {
      this.active++;
      return null;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hands the slot to the next waiter, or frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const wait = this.acquire();
    if (wait) await wait;
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /**
   * fn over every item, at most `max` at once (counted with every other user of
   * this limiter). After the first failure no new item starts; the ones running
   * settle, then the first error is thrown.
   */
  async forEach<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<void> {
    let failed = false;
    let firstError: unknown;
    const running: Promise<void>[] = [];
    const onError = (err: unknown): void => {
      if (!failed) {
        failed = true;
        firstError = err;
      }
    };
    const done = () => this.release();
    for (const item of items) {
      const wait = this.acquire();
      if (wait) await wait;
      if (failed) {
        this.release();
        break;
      }
      let p: Promise<unknown>;
      try {
        p = fn(item);
      } catch (err) {
        p = Promise.reject(err);
      }
      running.push(p.then(() => undefined, onError).finally(done));
    }
    await Promise.all(running);
    if (failed) throw firstError;
  }

  /** fn over every item with results in input order (reads); same rules as forEach. */
  async map<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
    const out = new Array<R>(items.length);
    let i = 0;
    const indexed = items.map((item) => ({ item, at: i++ }));
    await this.forEach(indexed, async ({ item, at }) => {
      out[at] = await fn(item);
    });
    return out;
  }
}
