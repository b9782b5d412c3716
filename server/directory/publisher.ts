// The gateway's side of the directory: it announces each session (conn, user)
// going up or down, and keeps a heartbeat key alive while the process lives.
//
// Per event-loop turn: every connect/disconnect of the turn goes to Redis in
// one script call (scripts.ts APPLY_LUA: atomic, and it PUBLISHes one message
// with the turn's effective changes). Per session change inside Redis: ~3
// commands up, ~3-6 down (the last device of a user also writes last-seen).
//
// The sessions this gateway holds (`sessions`) are the truth; Redis is a copy.
// While Redis is unreachable, changes only update that map; when Redis is back
// (a reconnect, or a heartbeat that finds our key gone because we were declared
// dead, or an empty Redis after a restart) a resync diffs Redis against the map,
// applies the difference and publishes an "R" marker so replicas reload us.
import type Redis from 'ioredis';
import { invariant } from '../../lib/invariant';
import { chunksOf, TurnBatcher } from '../../lib/turn-batcher';
import { isUserId } from '../common/validation';
import { encodeMessage, type SessionChange } from './codec';
import type { DirectoryClient, DirectoryRedis } from './connect';
import { ALIVE_RESYNCING, ALIVE_SETTLED, isConnId, isGatewayId, KEY_PREFIX, KEYS, type DirectoryLimits } from './limits';
import { scanHash } from './scan';

export interface PublisherOptions {
  /** The gateway's id with its start nonce ("gw-1#k3x9"): conn ids of two incarnations never meet. */
  gatewayId: string;
  log?: (line: string) => void;
}

export interface PublisherStats {
  /** connected()/disconnected() calls. */
  changes: number;
  /** Script calls (one per turn with changes, more when a turn exceeds script_changes_max). */
  scriptCalls: number;
  /** Changes Redis applied and published (no-ops left out). */
  changesPublished: number;
  /** Changes not sent because Redis was unreachable (the next resync carries them). */
  changesHeldWhileDown: number;
  /** Full resyncs done (the first announce included). */
  resyncs: number;
  resyncFailures: number;
  heartbeats: number;
  /** Heartbeats that found our key gone: we had been declared dead. */
  heartbeatsFoundDead: number;
  applyFailures: number;
}

export class RoutePublisher {
  readonly stats: PublisherStats = {
    changes: 0, scriptCalls: 0, changesPublished: 0, changesHeldWhileDown: 0, resyncs: 0, resyncFailures: 0,
    heartbeats: 0, heartbeatsFoundDead: 0, applyFailures: 0,
  };
  private readonly sessions = new Map<number, number>();
  private readonly batcher = new TurnBatcher<SessionChange>((items) => this.run(() => this.applyTurn(items)));
  private readonly redis: DirectoryRedis;
  private readonly limits: DirectoryLimits;
  private readonly log: (line: string) => void;
  /** Redis holds our sessions and we may send changes; false from a failure until the next resync. */
  private live = false;
  private resyncQueued = false;
  private chain: Promise<void> = Promise.resolve();
  private seq = 1;
  private heartbeat: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly onReady = (): void => this.queueResync('redis ready');
  private readonly onClose = (): void => {
    this.live = false;
  };

  private constructor(client: DirectoryClient, readonly gatewayId: string, log: (line: string) => void) {
    this.redis = client.redis;
    this.limits = client.limits;
    this.log = log;
  }

  /** Announces the gateway (heartbeat key) and starts beating; rejects if Redis refuses the first announce. */
  static async start(client: DirectoryClient, opts: PublisherOptions): Promise<RoutePublisher> {
    if (!isGatewayId(opts.gatewayId)) throw new Error(`directory: gateway id ${JSON.stringify(opts.gatewayId)} must match [A-Za-z0-9._#-]{1,64}`);
    const p = new RoutePublisher(client, opts.gatewayId, opts.log ?? (() => {}));
    await p.resync();
    p.redis.on('ready', p.onReady);
    p.redis.on('close', p.onClose);
    const beatMs = Math.max(1, Math.floor(p.limits.alive_ttl_ms / p.limits.alive_beats_per_ttl));
    p.heartbeat = setInterval(() => void p.beat(), beatMs);
    return p;
  }

  connected(conn: number, user: number): void {
    invariant(isConnId(conn) && isUserId(user), 'a session is a uint32 conn and a user id');
    invariant(!this.sessions.has(conn), 'a gateway never reuses an open conn id');
    this.stats.changes++;
    this.sessions.set(conn, user);
    this.batcher.push({ up: true, conn, user });
  }

  disconnected(conn: number, user: number): void {
    this.stats.changes++;
    if (!this.sessions.delete(conn)) return;
    this.batcher.push({ up: false, conn, user });
  }

  /** Sessions held now (what a resync announces). */
  get size(): number {
    return this.sessions.size;
  }

  get isLive(): boolean {
    return this.live;
  }

  /** Clean shutdown (drain): every session goes down, then an "X" marker, then the heartbeat key goes. */
  async close(): Promise<void> {
    this.halt();
    await this.chain;
    const downs: SessionChange[] = [...this.sessions].map(([conn, user]) => ({ up: false, conn, user }));
    this.sessions.clear();
    try {
      await this.applyAll(downs);
      await this.publishMarker('left');
      await this.redis.del(KEYS.alive(this.gatewayId), KEYS.conns(this.gatewayId));
    } catch (err) {
      this.log(`directory: clean leave failed (${(err as Error).message}); the heartbeat TTL will declare us gone`);
    }
  }

  /** Stops beating and sending without telling anyone (what a killed process looks like; tests). */
  halt(): void {
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.batcher.clear();
    this.redis.off('ready', this.onReady);
    this.redis.off('close', this.onClose);
  }

  // ---------------------------------------------------------------- internals

  /** Redis work runs one task at a time, in order: a turn's changes never overtake a resync. */
  private run(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((err: Error) => this.log(`directory: ${err.message}`));
  }

  private async applyTurn(items: SessionChange[]): Promise<void> {
    if (this.stopped) return;
    if (!this.live) {
      this.stats.changesHeldWhileDown += items.length;
      return;
    }
    try {
      await this.applyAll(items);
    } catch (err) {
      this.stats.applyFailures++;
      this.live = false;
      this.queueResync(`apply failed: ${(err as Error).message}`);
    }
  }

  private async applyAll(changes: SessionChange[]): Promise<void> {
    if (changes.length === 0) return;
    for (const chunk of chunksOf(changes, this.limits.script_changes_max)) {
      const args: (string | number)[] = [
        this.gatewayId, this.seq, Date.now(), this.limits.last_seen_ttl_ms, KEYS.channel, KEY_PREFIX.routes, KEY_PREFIX.lastSeen,
      ];
      for (const c of chunk) args.push(c.up ? '+' : '-', c.conn, c.user);
      this.stats.scriptCalls++;
      let n: number;
      try {
        n = await this.redis.waApply(KEYS.conns(this.gatewayId), KEYS.alive(this.gatewayId), ...args);
      } catch (err) {
        this.seq++; // it may have run and published: replicas see a gap and reload us
        throw err;
      }
      if (n < 0) throw new Error(`gateway ${this.gatewayId} was declared dead (heartbeat key gone)`);
      if (n > 0) this.seq++;
      this.stats.changesPublished += n;
    }
  }

  private queueResync(why: string): void {
    if (this.stopped || this.resyncQueued) return;
    this.resyncQueued = true;
    this.log(`directory: resync of ${this.sessions.size} sessions (${why})`);
    this.run(async () => {
      this.resyncQueued = false;
      if (this.stopped) return;
      try {
        await this.resync();
      } catch (err) {
        this.stats.resyncFailures++;
        throw err;
      }
    });
  }

  /** Makes Redis hold exactly our sessions, then tells replicas to reload us. */
  private async resync(): Promise<void> {
    this.live = false;
    // "r" while the hash is being rewritten: a replica's snapshot skips us until our "R" marker.
    await this.redis.set(KEYS.alive(this.gatewayId), ALIVE_RESYNCING, 'PX', this.limits.alive_ttl_ms);
    const inRedis = await scanHash(this.redis, KEYS.conns(this.gatewayId), this.limits);
    const changes: SessionChange[] = [];
    for (const [conn, user] of inRedis) {
      if (this.sessions.get(conn) !== user) changes.push({ up: false, conn, user });
    }
    for (const [conn, user] of this.sessions) {
      if (inRedis.get(conn) !== user) changes.push({ up: true, conn, user });
    }
    await this.applyAll(changes);
    await this.publishMarker('resync');
    await this.redis.set(KEYS.alive(this.gatewayId), ALIVE_SETTLED, 'PX', this.limits.alive_ttl_ms, 'XX');
    this.live = true;
    this.stats.resyncs++;
  }

  private async publishMarker(kind: 'resync' | 'left'): Promise<void> {
    const text = encodeMessage({ kind, gateway: this.gatewayId, seq: this.seq, ms: Date.now() });
    this.seq++;
    await this.redis.publish(KEYS.channel, text);
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    if (!this.live) {
      // A failed resync is retried here, at the heartbeat's pace, while Redis answers.
      if ((this.redis as Redis).status === 'ready') this.queueResync('retry');
      return;
    }
    try {
      this.stats.heartbeats++;
      const kept = await this.redis.pexpire(KEYS.alive(this.gatewayId), this.limits.alive_ttl_ms);
      if (kept === 0 && !this.stopped) {
        this.stats.heartbeatsFoundDead++;
        this.live = false;
        this.queueResync('heartbeat key was gone');
      }
    } catch {
      // Redis is down: the 'ready' of the reconnect resyncs.
    }
  }
}
