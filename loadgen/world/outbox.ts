// The client outbox, per user: sends that wait for the connection, as a
// phone app keeps them. A send waits here when it is made while the user's
// connection is down (or held back after a retryable error), and a send that
// was in flight when the connection dropped comes back here to go out again,
// with the same client_msg_id, once the user is online. Each user's queue is
// kept in send order (an `order` stamped at the send), so after a reconnect
// the messages of a chat leave in the order they were written. Bounded: past
// OUTBOX_SENDS_MAX a new send is refused (the world fails it as
// `outbox_full`); sends that were already on the wire always come back.
//
// Cost: nothing on the steady path (an online user with an empty queue sends
// at once); per queued send, one array insert (usually a push).

/** Sends waiting per user. A phone keeps far more; 256 bounds the generator's memory (a slot and a queue entry each). */
export const OUTBOX_SENDS_MAX = 256;

/** What the outbox needs of a send: its place in the user's send order. */
export interface Ordered {
  order: number;
}

export class Outbox<T extends Ordered> {
  private readonly queues: (T[] | undefined)[];
  /** Per user: hold new sends back until this time (worker clock, ms), after a retryable error. */
  private readonly heldUntilMs: Float64Array;
  private count = 0;

  constructor(users: number, readonly perUserMax = OUTBOX_SENDS_MAX) {
    this.queues = new Array(users);
    this.heldUntilMs = new Float64Array(users);
  }

  /** Sends waiting in every user's outbox. */
  get size(): number {
    return this.count;
  }

  sizeOf(u: number): number {
    return this.queues[u]?.length ?? 0;
  }

  /**
   * Queue `p` for user u in send order. A new send is refused (false) when u's
   * outbox is full; `always` (a send that was already on the wire) is never refused.
   */
  push(u: number, p: T, always = false): boolean {
    let q = this.queues[u];
    if (!q) this.queues[u] = q = [];
    if (!always && q.length >= this.perUserMax) return false;
    let at = q.length;
    while (at > 0 && q[at - 1]!.order > p.order) at--;
    if (at === q.length) q.push(p);
    else q.splice(at, 0, p);
    this.count++;
    return true;
  }

  /** Take `p` out of u's outbox (it timed out while waiting); false if it was not there. */
  remove(u: number, p: T): boolean {
    const q = this.queues[u];
    const at = q ? q.indexOf(p) : -1;
    if (at < 0) return false;
    q!.splice(at, 1);
    this.count--;
    return true;
  }

  /** Everything waiting for u, in send order; u's outbox is empty afterwards. */
  takeAll(u: number): T[] {
    const q = this.queues[u];
    if (!q || q.length === 0) return [];
    this.queues[u] = undefined;
    this.count -= q.length;
    return q;
  }

  /** Every send waiting, user by user (the end of the run counts them). */
  forEach(f: (p: T) => void): void {
    for (const q of this.queues) if (q) for (const p of q) f(p);
  }

  /** Hold u's sends back until `untilMs` (a retryable error asked to wait). */
  hold(u: number, untilMs: number): void {
    if (untilMs > this.heldUntilMs[u]!) this.heldUntilMs[u] = untilMs;
  }

  isHeld(u: number, now: number): boolean {
    return this.heldUntilMs[u]! > now;
  }

  /** Until when u's sends are held (worker clock, ms; in the past when they are not). */
  heldUntil(u: number): number {
    return this.heldUntilMs[u]!;
  }

  clear(): void {
    this.queues.fill(undefined);
    this.count = 0;
  }
}
