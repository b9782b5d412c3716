// One worker thread's libsignal work, one operation at a time, in the order
// asked (a FIFO). Why not let operations overlap: libsignal's Node API awaits
// its stores several times per encrypt or decrypt, and every await lets any
// other ready operation run a step. With ~100 users per worker each in the
// middle of a seal or an open, every operation advanced one step per round of
// all the others, so each one's wall time was ~(operations in flight) x (cost
// of one): a 32-79 ms e2ee_encrypt_time median for ~0.15 ms of CPU
// (docs/design/021-e2ee.md, "Latency"). In a FIFO each operation runs alone:
// its wall time is its own cost, the wait is in front of it (the average wait
// is about half of what processor sharing gives every operation), and the
// order of a user's operations, and of its peers', is the order asked.
//
// Cost: two promises per operation. No bound here: what waits is bounded by
// the world's sends in flight (maxVUs) and the deliveries of the open sockets.
/** How often idle() looks: a libsignal operation takes ~0.1-0.3 ms, a backlog drains in tens of ms. */
const IDLE_POLL_MS = 10;

/** An operation asked for after close(), or queued when it came: it did not run. */
export class LaneClosedError extends Error {
  constructor() {
    super('the crypto lane is closed (the worker thread is ending)');
  }
}

export class CryptoLane {
  private tail: Promise<unknown> = Promise.resolve();
  /** Operations asked for and not finished (for tests and diagnostics). */
  pending = 0;
  private closed = false;

  /** Run `op` after every operation asked before it has finished; resolves or rejects as `op` does. */
  run<T>(op: () => Promise<T>): Promise<T> {
    this.pending++;
    const done = this.tail.then(() => (this.closed ? Promise.reject(new LaneClosedError()) : op()));
    this.tail = done.then(this.finished, this.finished);
    return done;
  }

  /**
   * Resolves once nothing is pending (true) or after `maxMs` (false). A worker thread must not end under
   * a libsignal operation: its native side then panics and aborts the whole process (seen at the end of
   * fanout runs with e2ee, when the coordinator terminated the threads).
   */
  async idle(maxMs: number): Promise<boolean> {
    const until = Date.now() + maxMs;
    while (this.pending > 0) {
      if (Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, IDLE_POLL_MS));
    }
    return true;
  }

  /**
   * The thread is ending: operations not started yet fail with a LaneClosedError instead of running, so
   * idle() waits for the one running only (a backlog of thousands took longer than the teardown allows).
   */
  close(): void {
    this.closed = true;
  }

  private readonly finished = (): void => {
    this.pending--;
  };
}
