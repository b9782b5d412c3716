// The chat engine: everything the chat service decides, one turn at a time.
//
// Gateways' batches land in `inbox`; once per event-loop turn the engine takes
// all of it and runs one tick:
//   decode + validate (wire.ts) -> sends and group changes in arrival order
//   (sends.ts, groups.ts) -> acks (receipts.ts) -> ONE store commit -> emit
//   (acks to senders, deliveries, receipts, presence) -> queries (queries.ts)
//   -> drains (drains.ts).
// Ticks never overlap, so per-chat order is the order of this loop and needs no
// lock; a store commit per tick is the group commit that makes SQLite (and
// ScyllaDB's round trips) cheap per message. The parts decide and emit effects
// (effects.ts); wire.ts encodes them. Nothing acknowledged is emitted before
// the commit that makes it durable.
//
// Envelope, per 1:1 message on the steady path: one decode, one Map lookup for
// the chat, one id, one row in the commit, one encode of the delivery frame
// (shared by every recipient connection), one encode of the sent ack; per ack
// frame (coalesced by clients per chat): one watermark update and one receipt.
import type { Limits } from '../common/config';
import { ErrorCode, ProtocolError } from '../common/errors';
import { partitionOfFrame } from '../common/frame-partition';
import { PartitionIds } from '../common/ids';
import { partitionOfUser } from '../common/partitions';
import { batchIsEmpty, emptyBatch, FencedError, type MessageStore } from '../store/store';
import type { CachedChat } from './chat-state';
import { newCaches, replyError, type EngineContext, type Tick } from './context';
import { Drains } from './drains';
import type { Effect, EffectSink } from './effects';
import { Groups } from './groups';
import { Keys } from './keys';
import { emptyTickInput, fileFrame, type InboundEvent, type Op, type TickInput } from './inbound';
import { Presence } from './presence';
import { Queries } from './queries';
import { Receipts } from './receipts';
import { RouteRegistry } from './routes';
import { Sends } from './sends';
import { newEngineStats, type EngineStats } from './stats';
import { fencesOf, type PartitionGate } from './partition-gate';
import { TickPacer } from './tick-pacer';
import { Watermarks } from './watermarks';
import { decodeInbound, WireOut, type LinkSink } from './wire';

export type { InboundEvent } from './inbound';
export type { LinkSink, OutboundInit } from './wire';

/** Per-tick observation hook (server/metrics); null when metrics are off. */
export type TickObserver = (durationSeconds: number, events: number) => void;

export interface EngineOptions<L extends LinkSink> {
  /** The clock (tests inject one). */
  now?: () => number;
  /** One of several chat nodes: which partitions this node serves (server/chat/partition-gate.ts); none = all. */
  gate?: PartitionGate | null;
  /**
   * Presence changes come from the Redis directory (directoryPresence), which sees every gateway,
   * instead of from this node's own connection events.
   */
  presenceFromDirectory?: boolean;
  /** Where effects go; default: encoded to frames and pushed to the gateway links (wire.ts). Tests pass a fake. */
  sink?: EffectSink<L>;
  /** The drain-expiry and watermark-flush timers; off in tests that step them by hand. Default on. */
  timers?: boolean;
  /** Log drain steps (WA_DEBUG_DRAIN=1). */
  debugLog?: ((line: string) => void) | null;
}

export class ChatEngine<L extends LinkSink> {
  readonly routes = new RouteRegistry<L>();
  readonly stats: EngineStats = newEngineStats();
  onTick: TickObserver | null = null;
  private readonly ctx: EngineContext<L>;
  private readonly sends: Sends<L>;
  private readonly groups: Groups<L>;
  private readonly receipts: Receipts<L>;
  private readonly drains: Drains<L>;
  private readonly presence: Presence<L>;
  private readonly queries: Queries<L>;
  private readonly keys: Keys<L>;
  private inbox: { link: L; ev: InboundEvent }[] = [];
  private running = false;
  private scheduled = false;
  private kickPending = false;
  private readonly presenceFromDirectory: boolean;
  private redrainPending = false;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly useTimers: boolean;
  private readonly pacer: TickPacer;

  constructor(store: MessageStore, limits: Limits, opts: EngineOptions<L> = {}) {
    const now = opts.now ?? Date.now;
    this.ctx = {
      store, limits, now, routes: this.routes, stats: this.stats, ids: new PartitionIds(now),
      ...newCaches(store, limits, opts.gate ?? null), watermarks: new Watermarks(), out: opts.sink ?? new WireOut(this.routes),
      debugLog: opts.debugLog ?? null, gate: opts.gate ?? null,
    };
    this.useTimers = opts.timers ?? true;
    this.pacer = new TickPacer(limits.tick_linger_ms, limits.tick_linger_min_events_per_s);
    this.presenceFromDirectory = opts.presenceFromDirectory ?? false;
    this.drains = new Drains(this.ctx, () => this.kick());
    this.sends = new Sends(this.ctx);
    this.groups = new Groups(this.ctx, (user, chatId, deliveredId, upToId) => this.drains.memberGone(user, chatId, deliveredId, upToId));
    this.receipts = new Receipts(this.ctx, (user, chatId, id) => this.drains.delivered(user, chatId, id));
    this.presence = new Presence(this.ctx);
    this.queries = new Queries(this.ctx);
    this.keys = new Keys(this.ctx);
  }

  /** Test aid (server/common/debug-slowdown.ts): CPU µs burnt per accepted message; 0 in production. */
  set debugSlowdownUs(us: number) {
    this.sends.debugSlowdownUs = us;
  }

  /** Test aid (server/common/debug-slowdown.ts): work units burnt per accepted message; 0 in production. */
  set debugSlowdownWork(units: number) {
    this.sends.debugSlowdownWork = units;
  }

  /** Call once before serving: ids must start above anything already stored. */
  async start(): Promise<void> {
    this.ctx.ids.advancePast(await this.ctx.store.maxMessageId());
    if (!this.useTimers) return;
    this.timers.push(setInterval(() => this.expireDrains(), this.ctx.limits.drain_expiry_check_ms));
    this.timers.push(setInterval(() => this.requestWatermarkFlush(), this.ctx.limits.watermark_flush_ms));
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
  }

  enqueue(link: L, ev: InboundEvent): void {
    this.inbox.push({ link, ev });
    this.pacer.arrived();
    this.schedule();
  }

  /** The Redis directory says a user came online or went offline (cluster mode): watchers here hear it. */
  directoryPresence(user: number, online: boolean, atMs: number): void {
    this.inbox.push({ link: null as unknown as L, ev: { kind: 'presence', user, online, atMs } });
    this.schedule();
  }

  /** Resolves once every enqueued event has been handled (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.running || this.scheduled || this.inbox.length > 0 || this.kickPending) {
      if (this.closed) return;
      await new Promise((r) => setImmediate(r));
    }
  }

  /** A client that stops acking mid-drain gives its slot back (the timer's step; tests call it with their clock). */
  expireDrains(): void {
    this.drains.expire(this.ctx.now());
  }

  /** Write the watermark moves kept in memory with the next tick (the timer's step). */
  requestWatermarkFlush(): void {
    if (this.ctx.watermarks.requestFlush()) this.kick();
  }

  /** Write every pending watermark now (shutdown). */
  async flushWatermarks(): Promise<void> {
    while (this.running) await new Promise((r) => setImmediate(r));
    const batch = emptyBatch();
    this.ctx.watermarks.take(batch);
    if (batch.watermarks.length > 0) await this.ctx.store.commit(batch);
  }

  // ---------------------------------------------------------------- the loop

  private schedule(): void {
    if (this.scheduled || this.running || this.closed) return;
    this.scheduled = true;
    const delayMs = this.pacer.delayMs();
    if (delayMs > 0) setTimeout(this.runScheduled, delayMs);
    else setImmediate(this.runScheduled);
  }

  private readonly runScheduled = (): void => {
    this.scheduled = false;
    void this.runTicks();
  };

  private async runTicks(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while ((this.inbox.length > 0 || this.kickPending) && !this.closed) {
        this.kickPending = false;
        const items = this.inbox;
        this.inbox = [];
        const t0 = this.onTick ? performance.now() : 0;
        await this.tick(items);
        if (this.onTick) this.onTick((performance.now() - t0) / 1000, items.length);
      }
    } finally {
      this.running = false;
    }
    if (this.inbox.length > 0 || this.kickPending) this.schedule();
  }

  /** Run a tick even though no gateway sent anything (drain follow-ups, watermark flushes). */
  private kick(): void {
    this.kickPending = true;
    this.schedule();
  }

  // ---------------------------------------------------------------- one tick

  private async tick(items: { link: L; ev: InboundEvent }[]): Promise<void> {
    this.stats.ticks++;
    const tick: Tick<L> = { nowMs: this.ctx.now(), batch: emptyBatch(), afterCommit: [] };
    this.ctx.watermarks.takeIfDue(tick.batch);
    const input = emptyTickInput<L>();
    for (const { link, ev } of items) this.intake(link, ev, input, tick);
    await this.ensureUsers(input.connected, tick.nowMs);
    await this.runOps(input.ops, tick);
    await this.receipts.apply(input.acks, tick);
    const stored = await this.commit(tick);
    this.drains.membersGoneCommitted(stored);
    if (!stored) {
      for (const op of input.ops) replyError(this.ctx, op.state, op.ref, new ProtocolError(ErrorCode.UNAVAILABLE, 'not stored: retry with the same client_msg_id'));
    }
    // Users who connected in this tick drain first: their drain delivers this
    // tick's messages too, in order, so nothing reaches them twice.
    for (const state of input.connected) this.drains.start(state);
    if (this.redrainPending) {
      this.redrainPending = false;
      for (const state of this.routes.latestConnOfEachUser()) this.drains.start(state);
    }
    // Only now is everything durable: acknowledge, deliver, tell.
    if (stored) for (const e of tick.afterCommit) this.emitAfterCommit(e);
    for (const p of input.presenceChanges) this.presence.announce(p);
    for (const h of input.histories) await this.queries.history(h);
    for (const i of input.infos) await this.queries.info(i);
    await this.drains.step(tick.nowMs);
    for (const m of input.marks) m.link.markProcessed?.(m.us);
  }

  /** File one inbound event: connection changes apply at once, frames are decoded, validated and sorted. */
  private intake(link: L, ev: InboundEvent, input: TickInput<L>, tick: Tick<L>): void {
    switch (ev.kind) {
      case 'connected': {
        const { state, cameOnline } = this.routes.add(link, ev.conn, ev.user);
        input.connected.push(state);
        if (cameOnline && !this.presenceFromDirectory) input.presenceChanges.push({ user: ev.user, online: true, lastSeenMs: tick.nowMs });
        return;
      }
      case 'presence':
        input.presenceChanges.push({ user: ev.user, online: ev.online, lastSeenMs: ev.online ? tick.nowMs : ev.atMs });
        return;
      case 'disconnected':
        this.disconnect(link, ev.conn, input, tick);
        return;
      case 'processed':
        input.marks.push({ link, us: ev.us });
        return;
      case 'link-down':
        for (const c of this.routes.connsOf(link)) this.disconnect(link, c.conn, input, tick);
        this.routes.dropLink(link);
        return;
      case 'frame': {
        const state = this.routes.conn(link, ev.conn);
        if (!state) return; // the connection closed after sending; nothing to answer
        const frame = decodeInbound(ev.frame, this.ctx.limits);
        if (frame instanceof ProtocolError) {
          replyError(this.ctx, state, 0, frame);
          return;
        }
        const gate = this.ctx.gate;
        if (gate && !gate.serves(partitionOfFrame(frame, state.user))) {
          // Routed by a gateway whose owner map is behind (the partition is moving). The connection is
          // closed after the error: the client reconnects and resends everything unacknowledged in
          // order, so a later frame that reaches the new owner first cannot overtake this one.
          this.stats.framesNotServed++;
          this.stats.errors[ErrorCode.UNAVAILABLE] = (this.stats.errors[ErrorCode.UNAVAILABLE] ?? 0) + 1;
          this.ctx.out.emit({ t: 'error', to: state, ref: frame.ref, code: ErrorCode.UNAVAILABLE, message: 'partition moved: reconnect and resend with the same client_msg_id', close: true });
          return;
        }
        const now = fileFrame(input, state, frame, ev.recv_at_us);
        if (now?.body === 'presence_subscribe') this.presence.subscribe(state, now.ref, now.presence_subscribe, tick.nowMs);
        else if (now?.body === 'keys_upload') this.keys.upload(state, now.ref, now.keys_upload);
        else if (now?.body === 'key_bundle_request') this.keys.fetch(state, now.ref, now.key_bundle_request);
        else if (now?.body === 'set_privacy') {
          void this.presence.setPrivacy(state, now.ref, now.set_privacy).catch((err: Error) =>
            replyError(this.ctx, state, now.ref, new ProtocolError(ErrorCode.UNAVAILABLE, `privacy not stored: ${err.message}`)));
        }
      }
    }
  }

  private disconnect(link: L, conn: number, input: TickInput<L>, tick: Tick<L>): void {
    const { state, wentOffline } = this.routes.remove(link, conn);
    if (!state) return;
    this.drains.connectionClosed(state);
    if (wentOffline) {
      // Several nodes see every disconnect: the owner of the user's partition writes its last-seen.
      const gate = this.ctx.gate;
      if (!gate || gate.serves(partitionOfUser(state.user))) tick.batch.last_seen.push({ user: state.user, last_seen_ms: tick.nowMs });
      if (!this.presenceFromDirectory) input.presenceChanges.push({ user: state.user, online: false, lastSeenMs: tick.nowMs });
    }
  }

  /** The users connecting in this tick exist in the store: their writes side by side (one round trip on a networked store, not one per user). */
  private async ensureUsers(connected: readonly { user: number }[], nowMs: number): Promise<void> {
    let writes: Promise<void>[] | null = null;
    for (const { user } of connected) {
      if (this.ctx.users.has(user)) continue;
      (writes ??= []).push(this.ctx.store.ensureUser(user, nowMs).then(() => this.ctx.users.remember(user)));
    }
    if (writes) await Promise.all(writes);
  }

  /** Sends, group creations and membership changes in arrival order; a refused one is answered with its error. */
  private async runOps(ops: Op<L>[], tick: Tick<L>): Promise<void> {
    if (ops.length === 0) return;
    await this.sends.prefetch(ops);
    for (const op of ops) {
      try {
        if (op.kind === 'send') await this.sends.accept(op, tick);
        else if (op.kind === 'create') await this.groups.create(op, tick);
        else await this.groups.change(op, tick);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        if (op.kind === 'send') this.stats.sendsRejected++;
        replyError(this.ctx, op.state, op.ref, err);
      }
    }
  }

  /**
   * One commit for the tick. False when the store refused it (fenced: another
   * node owns a partition now; or the store failed): nothing of the tick was
   * stored, so nothing may be told, and the caches, which already moved, are
   * dropped to reload what the store really holds.
   */
  private async commit(tick: Tick<L>): Promise<boolean> {
    const { batch } = tick;
    // Snapshot new chats' members: the store may keep the objects, the engine goes on changing its own.
    for (const chat of batch.new_chats) chat.members = new Map([...chat.members].map(([u, m]) => [u, { ...m }]));
    if (batchIsEmpty(batch)) return true;
    const gate = this.ctx.gate;
    if (gate) batch.fences = fencesOf(batch, gate);
    try {
      await this.ctx.store.commit(batch);
    } catch (err) {
      this.stats.commitsFailed++;
      if (err instanceof FencedError) {
        this.stats.commitsFenced++;
        gate?.fenced(err.partition);
      } else {
        console.error(`chat: commit failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.forgetCaches(() => true);
      return false;
    }
    this.stats.messagesStored += batch.messages.length;
    return true;
  }

  /** Drop cached state (chats matching `pred`, and every client id and pending count: they are cheap to reload). */
  private forgetCaches(pred: (chat: CachedChat) => boolean): void {
    this.ctx.chats.dropWhere(pred);
    this.ctx.clientIds.clear();
    this.ctx.pending.clear();
  }

  // ---------------------------------------------------------------- partitions (one of several chat nodes)

  /**
   * This node now serves these partitions (claimed in the store). Ids start
   * above everything stored, and every online user is drained again from
   * them: messages the previous owner stored but never delivered (it died
   * between commit and delivery) reach their recipients now.
   */
  async partitionsAcquired(partitions: readonly number[]): Promise<void> {
    const set = new Set(partitions);
    this.forgetCaches((c) => set.has(c.partition));
    this.ctx.ids.advancePast(await this.ctx.store.maxMessageId());
    this.enqueueRedrain();
  }

  /** Stop serving (the gate already says no): let the running tick finish, write watermarks, forget the chats. */
  async partitionsReleasing(partitions: readonly number[]): Promise<void> {
    await this.quiesce();
    await this.flushWatermarks();
    const set = new Set(partitions);
    this.forgetCaches((c) => set.has(c.partition));
  }

  /** The lease is gone: forget at once (another node may own them already; nothing more is written for them). */
  partitionsLost(partitions: readonly number[]): void {
    const set = new Set(partitions);
    this.forgetCaches((c) => set.has(c.partition));
  }

  /** Resolves when the tick running now (if any) has finished; later ticks may run. */
  private async quiesce(): Promise<void> {
    const n = this.stats.ticks;
    while (this.running && this.stats.ticks === n) await new Promise((r) => setImmediate(r));
  }

  private enqueueRedrain(): void {
    this.redrainPending = true;
    this.kick();
  }

  /** A live delivery goes to recipients who are online and not draining (a drain delivers it, in order). */
  private emitAfterCommit(e: Effect<L>): void {
    if (e.t === 'message') {
      const users = this.liveRecipients(e.users);
      if (users.length === 0) return;
      this.stats.deliveriesLive += users.length;
      if (users !== e.users) e = { ...e, users };
    }
    this.ctx.out.emit(e);
  }

  /** `users` who are online and not draining: the same array when that is all of them (no allocation on the common path). */
  private liveRecipients(users: readonly number[]): readonly number[] {
    let live = 0;
    for (const u of users) if (this.routes.isOnline(u) && !this.drains.isDraining(u)) live++;
    if (live === users.length) return users;
    if (live === 0) return [];
    return users.filter((u) => this.routes.isOnline(u) && !this.drains.isDraining(u));
  }

  // ---------------------------------------------------------------- read-outs for metrics (scrape time, not the hot path)

  /** Offline users with undelivered 1:1 messages, and how many, from the in-memory counts (O(users cached)). */
  offlineQueueDepth(): { users: number; messages: number } {
    let users = 0;
    let messages = 0;
    for (const [user, pending] of this.ctx.pending.entries()) {
      if (pending > 0 && !this.routes.isOnline(user)) {
        users++;
        messages += pending;
      }
    }
    return { users, messages };
  }

  drainCounts(): { active: number; queued: number } {
    return this.drains.counts();
  }
}
