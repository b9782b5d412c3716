// The chat node's side of the directory: a full copy of every session in
// memory (the per-node cache), so routing a message costs a Map lookup and no
// Redis round trip (bench/directory-cost.ts measures both).
//
// How the copy stays right:
// - Pub/sub: every change the gateways apply arrives on one channel, in the
//   order Redis applied them (one publisher script per turn), and is applied here.
// - Snapshots: on start and after every reconnect, the replica SUBSCRIBEs first,
//   then SCANs the gateways' hashes; messages arriving meanwhile wait in a
//   bounded queue and are applied after (applying a change twice is a no-op).
//   The snapshot is diffed into memory: only real changes become events.
// - A gateway's "R" marker (it re-announced all its sessions after a Redis
//   restart) or a gap in its message numbers reloads that one gateway.
// - A gateway whose heartbeat key expired (keyspace notification) is gone: its
//   sessions go down here and the replica reaps its keys (scripts.ts REAP_LUA).
//   Before that it waits gone_grace_ms and looks again: a Redis paused past the
//   TTL expires every heartbeat at once, and live gateways put theirs back.
//   A gateway this replica knew but a snapshot no longer shows (Redis restarted
//   empty) gets one heartbeat TTL to re-announce before it is declared gone.
// - While Redis is unreachable nothing is cleared: routes keep working from
//   memory; only changes pause until the next snapshot.
import type Redis from 'ioredis';
import { withTimeout } from '../../lib/async';
import { decimal, decodeMessage, type DirectoryMessage } from './codec';
import type { DirectoryClient, DirectoryRedis } from './connect';
import { ALIVE_RESYNCING, gatewayOfKey, KEY_PREFIX, KEYS, type DirectoryLimits } from './limits';
import { DirectoryState, type PresenceEvent, type Route, type RouteEvent } from './replica-state';
import { scanHash, scanKeys } from './scan';

export type { PresenceEvent, Route, RouteEvent } from './replica-state';

/** start() gives up after this: a chat node must not wait forever for a Redis that went away mid-start. */
const FIRST_SNAPSHOT_TIMEOUT_MS = 30_000;

export interface ReplicaHandlers {
  onRoute?: (e: RouteEvent) => void;
  onPresence?: (e: PresenceEvent) => void;
  onGatewayGone?: (gateway: string) => void;
  log?: (line: string) => void;
  /** CLIENT SETNAME of the subscriber connection. */
  name?: string;
}

export interface ReplicaStats {
  /** Pub/sub messages applied, and the session changes in them. */
  messages: number;
  changes: number;
  /** Bytes of pub/sub messages received on the changes channel. */
  bytes: number;
  /** Time spent applying messages (decode + state + handlers), ms. */
  applyMs: number;
  /** Messages (or hash fields) that did not parse: counted, ignored. */
  malformed: number;
  /** Full snapshots loaded (the first included), and single gateways reloaded. */
  snapshots: number;
  reloads: number;
  loadFailures: number;
  /** Gaps in a gateway's message numbers (each reloads the gateway). */
  gaps: number;
  gatewaysGone: number;
  /** Times the wait queue overflowed during a load (dropped, full snapshot instead). */
  queueOverflows: number;
}

type Work =
  | { t: 'message'; text: string }
  | { t: 'snapshot' }
  | { t: 'reload'; gateway: string }
  | { t: 'suspect'; gateway: string };

export class RouteReplica {
  readonly stats: ReplicaStats = {
    messages: 0, changes: 0, bytes: 0, applyMs: 0, malformed: 0, snapshots: 0, reloads: 0, loadFailures: 0, gaps: 0,
    gatewaysGone: 0, queueOverflows: 0,
  };
  private readonly state: DirectoryState;
  private readonly redis: DirectoryRedis;
  private readonly limits: DirectoryLimits;
  private readonly log: (line: string) => void;
  private readonly lastSeq = new Map<string, number>();
  /** Gateways a snapshot no longer showed: when each may be declared gone. */
  private readonly suspects = new Map<string, NodeJS.Timeout>();
  private queue: Work[] = [];
  private pumping = false;
  private snapshotQueued = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly expiredChannel: string;
  private firstSnapshot: Promise<void>;
  private resolveFirst!: () => void;

  private constructor(client: DirectoryClient, private readonly sub: Redis, private readonly handlers: ReplicaHandlers) {
    this.redis = client.redis;
    this.limits = client.limits;
    this.log = handlers.log ?? (() => {});
    this.expiredChannel = KEYS.expiredChannel(client.redis.options.db ?? 0);
    this.state = new DirectoryState({
      route: (e) => handlers.onRoute?.(e),
      presence: (e) => handlers.onPresence?.(e),
    });
    this.firstSnapshot = new Promise((r) => (this.resolveFirst = r));
  }

  /** Subscribes, loads the first snapshot and resolves when the replica is complete. */
  static async start(client: DirectoryClient, handlers: ReplicaHandlers = {}): Promise<RouteReplica> {
    const sub = await client.subscriber(handlers.name ?? 'directory replica');
    const r = new RouteReplica(client, sub, handlers);
    sub.on('message', (channel: string, text: string) => r.onPubSub(channel, text));
    sub.on('ready', () => void r.onSubscriberReady());
    await r.onSubscriberReady();
    try {
      await withTimeout(r.firstSnapshot, FIRST_SNAPSHOT_TIMEOUT_MS, `the directory's first snapshot from ${client.url}`);
    } catch (err) {
      r.close();
      throw err;
    }
    return r;
  }

  // ---------------------------------------------------------------- reads (the hot path)

  /** Where a user's sessions are: one Map get, no Redis. */
  routesOf(user: number): readonly Route[] | undefined {
    return this.state.routesOf(user);
  }

  isOnline(user: number): boolean {
    return this.state.isOnline(user);
  }

  get sessions(): number {
    return this.state.sessions;
  }

  get onlineUsers(): number {
    return this.state.onlineUsers;
  }

  gateways(): string[] {
    return this.state.gatewayIds();
  }

  /** ms of the user's last disconnect from Redis; null when online, unknown or Redis is unreachable. */
  async lastSeen(user: number): Promise<number | null> {
    if (this.state.isOnline(user)) return null;
    try {
      const text = await this.redis.get(KEYS.lastSeen(user));
      const ms = text === null ? null : decimal(text);
      if (text !== null && ms === null) this.stats.malformed++;
      return ms;
    } catch {
      return null;
    }
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const t of this.suspects.values()) clearTimeout(t);
    this.suspects.clear();
    this.queue = [];
    this.sub.disconnect();
  }

  // ---------------------------------------------------------------- inputs

  private async onSubscriberReady(): Promise<void> {
    if (this.closed) return;
    try {
      // Subscribed before the snapshot reads: a change is either in the snapshot or arrives after it.
      await this.sub.subscribe(KEYS.channel, this.expiredChannel);
    } catch (err) {
      this.log(`directory: subscribe failed (${(err as Error).message}); waiting for the next reconnect`);
      return;
    }
    this.queueSnapshot();
  }

  private onPubSub(channel: string, text: string): void {
    if (this.closed) return;
    if (channel === this.expiredChannel) {
      const gateway = gatewayOfKey(text, 'alive');
      if (gateway) this.suspect(gateway, this.limits.gone_grace_ms);
      return; // other keys expiring (last-seen, anything else in this Redis) are none of ours
    }
    if (channel !== KEYS.channel) {
      this.stats.malformed++;
      return;
    }
    this.stats.bytes += text.length;
    this.push({ t: 'message', text });
  }

  private queueSnapshot(): void {
    if (this.snapshotQueued) return;
    this.snapshotQueued = true;
    this.push({ t: 'snapshot' });
  }

  private push(w: Work): void {
    if (this.queue.length >= this.limits.replica_queue_items_max) {
      // Dropping is safe only because a full snapshot follows: it contains all the dropped changes.
      this.stats.queueOverflows++;
      this.queue = [];
      this.snapshotQueued = false;
      this.queueSnapshot();
      return;
    }
    this.queue.push(w);
    if (!this.pumping) void this.pump();
  }

  /** One piece of work at a time, in arrival order; messages that arrive during a load wait their turn. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const w = this.queue.shift()!;
        if (w.t === 'message') {
          const m = this.applyMessage(w.text);
          if (m?.kind === 'resync') await this.load(() => this.reload(m.gateway, true));
        } else if (w.t === 'snapshot') {
          this.snapshotQueued = false;
          await this.load(() => this.snapshot());
        } else if (w.t === 'reload') {
          await this.load(() => this.reload(w.gateway));
        } else {
          await this.load(() => this.checkSuspect(w.gateway));
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async load(task: () => Promise<void>): Promise<void> {
    try {
      await task();
    } catch (err) {
      // Redis went away mid-load, or the command connection is not back yet while the subscriber is:
      // a full snapshot covers whatever this load was for; retried at the reconnect pace.
      this.stats.loadFailures++;
      this.log(`directory: load failed (${(err as Error).message}); full snapshot in ${this.limits.reconnect_delay_ms_max} ms`);
      this.retrySnapshotLater();
    }
  }

  private retrySnapshotLater(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed) this.queueSnapshot();
    }, this.limits.reconnect_delay_ms_max);
  }

  // ---------------------------------------------------------------- applying

  private applyMessage(text: string): DirectoryMessage | null {
    const t0 = performance.now();
    const m = decodeMessage(text, this.limits.message_bytes_max);
    if (!m) {
      this.stats.malformed++;
      return null;
    }
    this.stats.messages++;
    const last = this.lastSeq.get(m.gateway);
    this.lastSeq.set(m.gateway, m.seq);
    if (m.kind === 'changes') {
      for (const c of m.changes) {
        if (c.up) this.state.up(m.gateway, c.conn, c.user, m.ms);
        else this.state.down(m.gateway, c.conn, m.ms);
      }
      this.stats.changes += m.changes.length;
      if (last !== undefined && m.seq > last + 1) {
        this.stats.gaps++;
        this.push({ t: 'reload', gateway: m.gateway });
      }
    } else if (m.kind === 'left') {
      this.forget(m.gateway, m.ms);
    }
    this.stats.applyMs += performance.now() - t0;
    return m;
  }

  /** Every gateway's sessions from Redis, diffed into memory. */
  private async snapshot(): Promise<void> {
    await this.ensureExpiryEvents();
    const alive = new Set<string>();
    /** Gateways rewriting their hash right now: their "R" marker reloads them when it is whole. */
    const resyncing = new Set<string>();
    for (const key of await scanKeys(this.redis, KEYS.alivePattern, this.limits)) {
      const gw = gatewayOfKey(key, 'alive');
      if (!gw) continue;
      alive.add(gw);
      if ((await this.redis.get(key)) === ALIVE_RESYNCING) resyncing.add(gw);
    }
    const withConns = new Set<string>();
    for (const key of await scanKeys(this.redis, KEYS.connsPattern, this.limits)) {
      const gw = gatewayOfKey(key, 'conns');
      if (gw) withConns.add(gw);
      else this.stats.malformed++;
    }
    for (const gw of withConns) if (!resyncing.has(gw)) await this.reload(gw);
    for (const gw of alive) if (!withConns.has(gw) && !resyncing.has(gw)) this.state.replaceGateway(gw, new Map(), Date.now());
    for (const gw of this.state.gatewayIds()) {
      if (!alive.has(gw) && !withConns.has(gw)) this.suspect(gw, this.limits.alive_ttl_ms);
    }
    this.stats.snapshots++;
    this.resolveFirst();
  }

  /** One gateway's sessions from Redis (`marker`: it just said its hash is whole); no heartbeat key: gone. */
  private async reload(gateway: string, marker = false): Promise<void> {
    const alive = await this.redis.get(KEYS.alive(gateway));
    if (alive === null) return this.gone(gateway);
    if (alive === ALIVE_RESYNCING && !marker) return this.cancelSuspect(gateway); // its "R" marker follows
    const conns = await scanHash(this.redis, KEYS.conns(gateway), this.limits, this.stats);
    this.cancelSuspect(gateway);
    this.lastSeq.delete(gateway);
    this.state.replaceGateway(gateway, conns, Date.now());
    this.stats.reloads++;
  }

  /** The gateway is dead: its sessions go down here, and its keys are reaped in Redis. */
  private async gone(gateway: string): Promise<void> {
    this.forget(gateway, Date.now());
    const args = [gateway, Date.now(), this.limits.last_seen_ttl_ms, KEY_PREFIX.routes, KEY_PREFIX.lastSeen, this.limits.scan_page_keys];
    for (let calls = 0; calls < this.limits.scan_calls_max; calls++) {
      const left = await this.redis.waReap(KEYS.conns(gateway), KEYS.alive(gateway), ...args);
      if (left <= 0) return; // 0: reaped; -1: it came back (its resync's "R" marker reloads it)
    }
    throw new Error(`reaping ${gateway}: more than scan_calls_max calls`);
  }

  private forget(gateway: string, atMs: number): void {
    this.cancelSuspect(gateway);
    this.lastSeq.delete(gateway);
    if (this.state.dropGateway(gateway, atMs)) {
      this.stats.gatewaysGone++;
      this.handlers.onGatewayGone?.(gateway);
    }
  }

  /** Looks at the gateway again after `delayMs`: gone then unless its heartbeat key is back. */
  private suspect(gateway: string, delayMs: number): void {
    if (this.suspects.has(gateway)) return;
    const timer = setTimeout(() => {
      this.suspects.delete(gateway);
      this.push({ t: 'suspect', gateway });
    }, delayMs);
    timer.unref();
    this.suspects.set(gateway, timer);
  }

  private cancelSuspect(gateway: string): void {
    const timer = this.suspects.get(gateway);
    if (!timer) return;
    clearTimeout(timer);
    this.suspects.delete(gateway);
  }

  /** Reload: a gateway whose heartbeat key is missing goes (and is reaped, known here or not). */
  private async checkSuspect(gateway: string): Promise<void> {
    await this.reload(gateway);
  }

  /** Expired-key events are how a dead gateway is noticed; turn them on if this Redis has them off. */
  private async ensureExpiryEvents(): Promise<void> {
    try {
      const [, flags = ''] = (await this.redis.config('GET', 'notify-keyspace-events')) as string[];
      const hasExpired = flags.includes('E') && (flags.includes('x') || flags.includes('A'));
      if (!hasExpired) await this.redis.config('SET', 'notify-keyspace-events', `${flags}Ex`);
    } catch (err) {
      this.log(`directory: cannot turn on expired-key events (${(err as Error).message}); dead gateways are found at snapshots only`);
    }
  }
}
