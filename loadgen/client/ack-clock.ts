// One timer for every client's delayed acks on a thread, instead of a
// setTimeout/clearTimeout per client per burst of deliveries. A client with
// acks to send registers once (one array push) under its delay; the clock
// keeps one FIFO per delay value (due times are then in order) and one Node
// timer, armed for the earliest due time. When it fires, every client due by
// then flushes, so acks falling due in the same millisecond go out together
// and their frames join whatever else those connections queue this turn.
// At 1-2k msg/s the per-client timers were ~3% of a worker thread
// (setTimeout/insert/unenroll in the profile), and each armed a separate turn.

/** What the clock calls when a registered client's acks fall due. */
export interface AckDue {
  flushAcks(): void;
}

interface DelayQueue {
  delayMs: number;
  due: number[];
  clients: AckDue[];
  head: number;
}

/** Compact a queue's consumed head once it is this long (and more than half the array). */
const COMPACT_AT = 1024;

export class AckClock {
  private readonly queues = new Map<number, DelayQueue>();
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity;
  private readonly fire = (): void => this.run();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** `c` has acks to send in `delayMs`; it must not be registered again before it is flushed. */
  schedule(c: AckDue, delayMs: number): void {
    let q = this.queues.get(delayMs);
    if (!q) this.queues.set(delayMs, (q = { delayMs, due: [], clients: [], head: 0 }));
    const due = this.now() + delayMs;
    q.due.push(due);
    q.clients.push(c);
    if (due < this.timerDue) this.arm(due);
  }

  /** Clients waiting (tests, the bench). */
  get pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.clients.length - q.head;
    return n;
  }

  private arm(due: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerDue = due;
    // A client's timer used to hold the loop open the same way: acks still due keep a run alive until they leave.
    this.timer = setTimeout(this.fire, Math.max(0, Math.ceil(due - this.now())));
  }

  private run(): void {
    this.timer = null;
    this.timerDue = Infinity;
    // Timers fire on libuv's millisecond clock, which can lag performance.now() a little:
    // what is due within the next millisecond goes now rather than costing another timer.
    const limit = this.now() + 1;
    let next = Infinity;
    for (const q of this.queues.values()) {
      while (q.head < q.clients.length && q.due[q.head]! <= limit) {
        const c = q.clients[q.head]!;
        q.clients[q.head++] = undefined as unknown as AckDue; // let a closed client go
        c.flushAcks();
      }
      if (q.head === q.clients.length) {
        q.due.length = 0;
        q.clients.length = 0;
        q.head = 0;
      } else {
        if (q.head > COMPACT_AT && q.head * 2 > q.clients.length) {
          q.due.splice(0, q.head);
          q.clients.splice(0, q.head);
          q.head = 0;
        }
        if (q.due[q.head]! < next) next = q.due[q.head]!;
      }
    }
    if (next !== Infinity) this.arm(next);
  }
}

/** The thread's clock (each worker thread has its own module instance). */
export const ackClock = new AckClock();
