// Users leaving and coming back. The drop order is reconnect.dropShare of the
// users online at the start (the disconnect workload takes them in turn); the
// offline queue holds who the reconnect workload brings back (users offline
// from the start, then each dropped one). Per user: when it was last dropped
// and last started coming back (offline_delivery_latency and drain_time count
// from there), and the reconnect iteration waiting for its DrainDone. A user
// whose connection the target closed comes back by itself, as a phone would:
// with exponential backoff and jitter, so the clients of a killed gateway do
// not all knock at once.
import { performance } from 'node:perf_hooks';
import { backoffMs } from '../../lib/backoff';
import type { Vu } from '../executors/executor';
import type { MetricsRegistry } from '../metrics/registry';
import type { Connections } from './connections';
import { spreadPick } from './online-set';

/** After the target closes a connection, attempt n (0-based) waits backoffMs(n, base, max): 125-250 ms, 250-500 ms, ... up to 1-2 s. */
const RECONNECT_BACKOFF_MS_BASE = 250;
const RECONNECT_BACKOFF_MS_MAX = 2000;
/** Attempts before a user gives up (~20 s of trying): its outbox then fails as reconnect_failed. */
const RECONNECT_ATTEMPTS_MAX = 12;

/** A reconnect iteration waiting for its user's DrainDone. */
export interface DrainWait {
  vu: Vu;
  gen: number;
}

export class Reconnects {
  private readonly dropOrder: number[] = [];
  private dropCursor = 0;
  private readonly offlineQueue: number[] = [];
  private offlineHead = 0;
  private readonly reconnectStartMs: Float64Array;
  private readonly droppedAtMs: Float64Array;
  private readonly awaitingDrain: (DrainWait | null)[];
  /** Worker clock of the first reconnect start and of the last DrainDone of a reconnect (0: none). */
  private firstStartMs = 0;
  private lastDrainMs = 0;

  /** @param onGaveUp a user whose reconnect attempts all failed */
  constructor(n: number, onlineShare: number, dropShare: number, private readonly connections: Connections, private readonly metrics: MetricsRegistry,
    private readonly onGaveUp: (u: number) => void = () => {}) {
    this.reconnectStartMs = new Float64Array(n);
    this.droppedAtMs = new Float64Array(n);
    this.awaitingDrain = new Array(n).fill(null);
    for (let u = 0; u < n; u++) {
      if (!spreadPick(u, onlineShare)) this.offlineQueue.push(u);
      else if (spreadPick(u, dropShare)) this.dropOrder.push(u);
    }
  }

  get firstReconnectMs(): number {
    return this.firstStartMs;
  }

  get lastDrainDoneMs(): number {
    return this.lastDrainMs;
  }

  /** The next user of the drop order that is online now; -1 once the order is used up. */
  nextToDrop(): number {
    while (this.dropCursor < this.dropOrder.length) {
      const u = this.dropOrder[this.dropCursor++]!;
      if (this.connections.isOnline(u)) return u;
    }
    return -1;
  }

  /** User u is offline and waits to be brought back. */
  queueOffline(u: number): void {
    this.offlineQueue.push(u);
  }

  /** The next queued user still offline; -1 if none. */
  nextOffline(): number {
    while (this.offlineHead < this.offlineQueue.length) {
      const u = this.offlineQueue[this.offlineHead++]!;
      if (this.connections.isOffline(u)) return u;
    }
    return -1;
  }

  /** We closed u's connection at `now`. */
  dropped(u: number, now: number): void {
    this.droppedAtMs[u] = now;
  }

  droppedAt(u: number): number {
    return this.droppedAtMs[u]!;
  }

  /** A reconnect iteration starts bringing u back at `now`. */
  begin(u: number, now: number): void {
    this.reconnectStartMs[u] = now;
    if (this.firstStartMs === 0) this.firstStartMs = now;
  }

  /** When u last started coming back (0: never). */
  startedAt(u: number): number {
    return this.reconnectStartMs[u]!;
  }

  /** The iteration ends at u's DrainDone; past `timeoutMs` it is failed with `onTimeout` instead. */
  awaitDrain(u: number, vu: Vu, timeoutMs: number, onTimeout: () => void): void {
    const gen = vu.gen;
    this.awaitingDrain[u] = { vu, gen };
    setTimeout(() => {
      const waiting = this.awaitingDrain[u];
      if (waiting && waiting.vu === vu && waiting.gen === gen) {
        this.awaitingDrain[u] = null;
        onTimeout();
      }
    }, timeoutMs).unref();
  }

  /** u's DrainDone came at `now`: the iteration waiting for it, if any (no longer waiting). */
  drained(u: number, now: number): DrainWait | null {
    const waiting = this.cancelDrain(u);
    if (waiting) this.lastDrainMs = now;
    return waiting;
  }

  /** A reconnect iteration that did not end drained, counted with its reason: every one is accounted for. */
  failed(reason: string): void {
    this.metrics.rate.reconnect_success.add(false);
    this.metrics.counter.reconnects_failed.add(1);
    this.metrics.addLabelled('reconnects_failed', 'reason', reason);
  }

  /** Nobody waits for u's DrainDone any more (its connect failed or its connection went): who was waiting. */
  cancelDrain(u: number): DrainWait | null {
    const waiting = this.awaitingDrain[u];
    this.awaitingDrain[u] = null;
    return waiting;
  }

  /** The target closed u's connection: a real client comes back (and resyncs from its offline queue); so does ours. */
  reconnectLater(u: number, attempt = 0): void {
    if (attempt >= RECONNECT_ATTEMPTS_MAX) {
      this.connections.gaveUp(u);
      this.onGaveUp(u);
      return;
    }
    setTimeout(() => {
      const c = this.connections;
      if (c.closing || !c.isOffline(u) || c.closedByUs(u)) return;
      this.reconnectStartMs[u] = performance.now();
      c.connect(u).then(
        () => this.metrics.counter.reconnects_automatic.add(1),
        () => {
          this.metrics.counter.connect_errors.add(1);
          this.reconnectLater(u, attempt + 1);
        },
      );
    }, backoffMs(attempt, RECONNECT_BACKOFF_MS_BASE, RECONNECT_BACKOFF_MS_MAX)).unref();
  }
}
