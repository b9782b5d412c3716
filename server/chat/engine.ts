// The chat engine: everything the chat service decides, one turn at a time.
//
// Gateways' batches land in `inbox`; once per event-loop turn the engine takes
// all of it and runs one tick:
//   decode -> validate -> assign ids/seqs -> ONE store commit -> emit
//   (sent acks, live deliveries, receipts, presence) -> history reads -> drains.
// Ticks never overlap, so per-chat order is the order of this loop and needs no
// lock; a store commit per tick is the group commit that makes SQLite (and
// ScyllaDB's round trips) cheap per message.
//
// Envelope, per 1:1 message on the steady path: one decode, one Map lookup for
// the chat, one id, one row in the commit, one encode of the delivery frame
// (shared by every recipient connection), one encode of the sent ack; per ack
// frame (coalesced by clients per chat): one watermark update and one receipt.
import { type Limits } from '../common/config';
import { ErrorCode, ProtocolError } from '../common/errors';
import { IdGenerator, idFloorForTime } from '../common/ids';
import {
  decodeClientFrame,
  encodeServerFrame,
  ReceiptKind,
  type AckBody,
  type ClientFrame,
  type HistoryRequestBody,
  type MessageBody,
  type SendBody,
} from '../common/protocol';
import {
  ChatKind,
  clientKey,
  type ChatState,
  type ClientKey,
  type CommitBatch,
  type MemberState,
  type MessageStore,
  type StoredMessage,
} from '../store/store';
import { directChatId } from './chat-id';
import { RouteRegistry, type ConnState, type GatewayLinkRef } from './routes';

/** What the engine asks a gateway link to send. */
export interface OutboundInit {
  frame: Uint8Array;
  users?: number[];
  conns?: number[];
  recv_at_us?: number;
  close?: boolean;
}

export interface LinkSink extends GatewayLinkRef {
  push(item: OutboundInit): void;
}

export type InboundEvent =
  | { kind: 'frame'; conn: number; user: number; frame: Uint8Array; recv_at_us: number }
  | { kind: 'connected'; conn: number; user: number }
  | { kind: 'disconnected'; conn: number; user: number }
  | { kind: 'link-down' };

interface CachedChat extends ChatState {
  /** The last few (id, seq, sender) of the chat, newest last: resolves acks without a store read. */
  recent: { id: number; seq: number; sender: number }[];
}

const RECENT_PER_CHAT_MAX = 32;
const RECENT_CLIENT_IDS_MAX = 100_000;
const KNOWN_USERS_MAX = 1_000_000;
const DRAIN_ACK_TIMEOUT_MS = 10_000;
const DRAIN_ROUNDS_PER_TICK_MAX = 64;
const WATERMARK_FLUSH_MS = 200;

interface Drain<L extends LinkSink> {
  user: number;
  conn: ConnState<L>;
  active: boolean;
  /** chat -> highest id sent in the current page and not yet acked. */
  outstanding: Map<string, number>;
  sent: number;
  deadlineMs: number;
}

interface PendingSend<L extends LinkSink> {
  state: ConnState<L>;
  ref: number;
  send: SendBody;
  recv_at_us: number;
}

export interface EngineStats {
  ticks: number;
  messagesStored: number;
  deliveriesLive: number;
  deliveriesReplayed: number;
  duplicatesSuppressed: number;
  errors: Record<string, number>;
}

export class ChatEngine<L extends LinkSink> {
  readonly routes = new RouteRegistry<L>();
  readonly stats: EngineStats = {
    ticks: 0, messagesStored: 0, deliveriesLive: 0, deliveriesReplayed: 0, duplicatesSuppressed: 0, errors: {},
  };
  private inbox: { link: L; ev: InboundEvent }[] = [];
  private running = false;
  private scheduled = false;
  private readonly chats = new Map<string, CachedChat>();
  private readonly recentClientIds = new Map<string, StoredMessage>();
  private readonly knownUsers = new Set<number>();
  /** Undelivered messages per user (lazily computed from the store, then maintained). */
  private readonly pendingByUser = new Map<number, number>();
  private readonly drains = new Map<number, Drain<L>>();
  private readonly drainQueue: Drain<L>[] = [];
  private drainsActive = 0;
  private readonly ids: IdGenerator;
  private closed = false;
  private drainTimer: NodeJS.Timeout | null = null;
  private watermarkTimer: NodeJS.Timeout | null = null;
  private readonly dirtyWatermarks = new Map<string, { chatId: string; member: MemberState }>();
  private watermarkFlushDue = false;
  private kickPending = false;

  constructor(
    private readonly store: MessageStore,
    private readonly limits: Limits,
    nodeId = 0,
    private readonly now: () => number = Date.now,
  ) {
    this.ids = new IdGenerator(nodeId, now);
  }

  /** Call once before serving: ids must start above anything already stored. */
  async start(): Promise<void> {
    this.ids.advancePast(await this.store.maxMessageId());
    this.drainTimer = setInterval(() => this.expireDrains(), 1000);
    this.drainTimer.unref();
    this.watermarkTimer = setInterval(() => this.requestWatermarkFlush(), WATERMARK_FLUSH_MS);
    this.watermarkTimer.unref();
  }

  stop(): void {
    this.closed = true;
    if (this.drainTimer) clearInterval(this.drainTimer);
    if (this.watermarkTimer) clearInterval(this.watermarkTimer);
  }

  enqueue(link: L, ev: InboundEvent): void {
    this.inbox.push({ link, ev });
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.running || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.runTicks();
    });
  }

  private async runTicks(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while ((this.inbox.length > 0 || this.kickPending) && !this.closed) {
        this.kickPending = false;
        const items = this.inbox;
        this.inbox = [];
        await this.tick(items);
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

  // ---------------------------------------------------------------- the tick

  private async tick(items: { link: L; ev: InboundEvent }[]): Promise<void> {
    this.stats.ticks++;
    const nowMs = this.now();
    const batch: CommitBatch = { new_chats: [], messages: [], watermarks: [], last_seen: [] };
    if (this.watermarkFlushDue) this.takeDirtyWatermarks(batch);
    const sends: PendingSend<L>[] = [];
    const acks: { state: ConnState<L>; ref: number; ack: AckBody }[] = [];
    const histories: { state: ConnState<L>; ref: number; req: HistoryRequestBody }[] = [];
    const connected: ConnState<L>[] = [];
    const presenceChanges: { user: number; online: boolean; lastSeenMs: number }[] = [];

    for (const { link, ev } of items) {
      switch (ev.kind) {
        case 'connected': {
          const { state, cameOnline } = this.routes.add(link, ev.conn, ev.user);
          connected.push(state);
          if (cameOnline) presenceChanges.push({ user: ev.user, online: true, lastSeenMs: nowMs });
          break;
        }
        case 'disconnected':
          this.disconnect(link, ev.conn, nowMs, batch, presenceChanges);
          break;
        case 'link-down':
          for (const c of this.routes.connsOf(link)) this.disconnect(link, c.conn, nowMs, batch, presenceChanges);
          this.routes.dropLink(link);
          break;
        case 'frame': {
          const state = this.routes.conn(link, ev.conn);
          if (!state) break; // the connection closed after sending; nothing to answer
          let frame: ClientFrame;
          try {
            frame = decodeClientFrame(ev.frame);
          } catch (err) {
            this.replyError(state, 0, err);
            break;
          }
          switch (frame.body) {
            case 'send': sends.push({ state, ref: frame.ref, send: frame.send, recv_at_us: ev.recv_at_us }); break;
            case 'ack': acks.push({ state, ref: frame.ref, ack: frame.ack }); break;
            case 'history': histories.push({ state, ref: frame.ref, req: frame.history }); break;
            case 'presence_subscribe': this.subscribePresence(state, frame.ref, frame.presence_subscribe.user_ids, nowMs); break;
            case 'ping': break; // answered by the gateway
            default: this.replyError(state, (frame as ClientFrame).ref, new ProtocolError(ErrorCode.UNKNOWN_TYPE, 'unknown frame type'));
          }
          break;
        }
      }
    }

    for (const state of connected) {
      if (!this.knownUsers.has(state.user)) {
        await this.store.ensureUser(state.user, nowMs);
        this.rememberUser(state.user);
      }
    }

    const accepted = await this.acceptSends(sends, batch, nowMs);
    const receipts = await this.applyAcks(acks);

    for (const chat of batch.new_chats) chat.members = new Map(chat.members); // snapshot for the store
    if (batch.messages.length + batch.new_chats.length + batch.watermarks.length + batch.last_seen.length > 0) {
      await this.store.commit(batch);
    }
    this.stats.messagesStored += batch.messages.length;

    // Only now is everything durable: acknowledge, deliver, tell.
    for (const a of accepted) this.emitAccepted(a);
    for (const r of receipts) this.emitReceipt(r);
    for (const p of presenceChanges) this.emitPresence(p.user, p.online, p.lastSeenMs);
    for (const h of histories) await this.answerHistory(h.state, h.ref, h.req);
    for (const state of connected) this.startDrain(state);
    await this.stepDrains(nowMs);
  }

  // ---------------------------------------------------------------- sends

  private async acceptSends(sends: PendingSend<L>[], batch: CommitBatch, nowMs: number): Promise<Accepted<L>[]> {
    const accepted: Accepted<L>[] = [];
    if (sends.length === 0) return accepted;

    // Validate shape first; collect recipients whose existence we do not know yet.
    const valid: PendingSend<L>[] = [];
    const unknownRecipients = new Set<number>();
    for (const s of sends) {
      const problem = this.checkSend(s);
      if (problem) {
        this.replyError(s.state, s.ref, problem);
        continue;
      }
      if (!this.knownUsers.has(s.send.to_user)) unknownRecipients.add(s.send.to_user);
      valid.push(s);
    }
    if (unknownRecipients.size > 0) {
      for (const id of await this.store.existingUsers([...unknownRecipients])) this.rememberUser(id);
    }

    // Idempotency: ids this tick, then the recent map, then the store (one batched lookup).
    const seenThisTick = new Map<string, Accepted<L>>();
    const toLookUp: ClientKey[] = [];
    for (const s of valid) {
      if (!this.recentClientIds.has(clientKey(s.state.user, s.send.client_msg_id))) {
        toLookUp.push({ sender: s.state.user, client_msg_id: s.send.client_msg_id });
      }
    }
    if (toLookUp.length > 0) {
      for (const [key, msg] of await this.store.findByClientIds(toLookUp)) this.rememberClientId(key, msg);
    }

    for (const s of valid) {
      const from = s.state.user;
      const to = s.send.to_user;
      const key = clientKey(from, s.send.client_msg_id);
      const earlier = this.recentClientIds.get(key);
      if (earlier) {
        this.stats.duplicatesSuppressed++;
        accepted.push({ s, msg: earlier, duplicate: true, recipients: [] });
        continue;
      }
      const twin = seenThisTick.get(key);
      if (twin) {
        this.stats.duplicatesSuppressed++;
        accepted.push({ s, msg: twin.msg, duplicate: true, recipients: [] });
        continue;
      }
      if (!this.knownUsers.has(to)) {
        this.replyError(s.state, s.ref, new ProtocolError(ErrorCode.UNKNOWN_USER, `user ${to} does not exist`));
        continue;
      }
      if ((await this.pendingOf(to)) >= this.limits.offline_queue_messages_max) {
        this.replyError(
          s.state, s.ref,
          new ProtocolError(ErrorCode.QUEUE_FULL, `user ${to} has offline_queue_messages_max=${this.limits.offline_queue_messages_max} undelivered messages`),
        );
        continue;
      }
      const chat = await this.directChat(from, to, batch);
      const id = this.ids.next();
      const seq = chat.last_seq + 1;
      chat.last_id = id;
      chat.last_seq = seq;
      pushRecent(chat, id, seq, from);
      const msg: StoredMessage = {
        id, chat_id: chat.chat_id, seq, sender: from, client_msg_id: s.send.client_msg_id, body: s.send.body, sent_at_ms: nowMs,
      };
      batch.messages.push(msg);
      // The sender has its own message: if it was caught up, its watermark moves with it.
      const own = chat.members.get(from)!;
      if (own.delivered_seq === seq - 1) {
        own.delivered_id = id;
        own.delivered_seq = seq;
        own.read_id = id;
        this.markWatermark(chat.chat_id, own);
      }
      this.addPending(to, 1);
      const a: Accepted<L> = { s, msg, duplicate: false, recipients: [to] };
      seenThisTick.set(key, a);
      this.rememberClientId(key, msg);
      accepted.push(a);
    }
    return accepted;
  }

  private checkSend(s: PendingSend<L>): ProtocolError | null {
    const { send } = s;
    const cmid = send.client_msg_id;
    if (!cmid) return new ProtocolError(ErrorCode.MISSING_FIELD, 'send.client_msg_id is required');
    if (Buffer.byteLength(cmid) > this.limits.client_msg_id_bytes_max) {
      return new ProtocolError(ErrorCode.FIELD_TOO_LONG, `client_msg_id longer than client_msg_id_bytes_max=${this.limits.client_msg_id_bytes_max}`);
    }
    if (send.body.length > this.limits.text_bytes_max) {
      return new ProtocolError(ErrorCode.TEXT_TOO_LONG, `body of ${send.body.length} bytes exceeds text_bytes_max=${this.limits.text_bytes_max}`);
    }
    if (send.chat_id) return new ProtocolError(ErrorCode.UNKNOWN_CHAT, `group chat ${send.chat_id.slice(0, 64)} does not exist`);
    if (!Number.isSafeInteger(send.to_user) || send.to_user <= 0) {
      return new ProtocolError(ErrorCode.MISSING_FIELD, 'send.to_user is required');
    }
    if (send.to_user === s.state.user) return new ProtocolError(ErrorCode.SELF_SEND, 'cannot send a message to yourself');
    return null;
  }

  private async directChat(a: number, b: number, batch: CommitBatch): Promise<CachedChat> {
    const chatId = directChatId(a, b);
    const cached = await this.chat(chatId);
    if (cached) return cached;
    const chat: CachedChat = {
      chat_id: chatId, kind: ChatKind.Direct, last_id: 0, last_seq: 0, recent: [],
      members: new Map([
        [a, newMember(a)],
        [b, newMember(b)],
      ]),
    };
    this.cacheChat(chat);
    batch.new_chats.push({ chat_id: chatId, kind: ChatKind.Direct, last_id: 0, last_seq: 0, members: chat.members });
    return chat;
  }

  private async chat(chatId: string): Promise<CachedChat | null> {
    const hit = this.chats.get(chatId);
    if (hit) return hit;
    const loaded = await this.store.loadChat(chatId);
    if (!loaded) return null;
    const chat: CachedChat = { ...loaded, recent: [] };
    this.cacheChat(chat);
    return chat;
  }

  private cacheChat(chat: CachedChat): void {
    // Oldest-inserted eviction keeps memory bounded; an evicted chat reloads from the store.
    if (this.chats.size >= this.limits.chat_cache_entries_max) {
      const oldest = this.chats.keys().next().value;
      if (oldest !== undefined) this.chats.delete(oldest);
    }
    this.chats.set(chat.chat_id, chat);
  }

  private emitAccepted(a: Accepted<L>): void {
    const { s, msg } = a;
    this.sendTo(s.state, encodeServerFrame({
      sent: {
        ref: s.ref, client_msg_id: msg.client_msg_id, id: msg.id, chat_id: msg.chat_id, seq: msg.seq, server_time_ms: msg.sent_at_ms,
      },
    }));
    if (a.duplicate) return;
    let frame: Uint8Array | null = null;
    for (const to of a.recipients) {
      if (this.drains.has(to)) continue; // the drain will deliver it, in order
      const conns = this.routes.connsOfUser(to);
      if (!conns) continue;
      frame ??= encodeServerFrame({ message: toMessageBody(msg, false) });
      this.deliver(conns, to, frame, s.recv_at_us);
      this.stats.deliveriesLive++;
    }
  }

  /** One Outbound per gateway link holding the user, addressed by user. */
  private deliver(conns: readonly ConnState<L>[], user: number, frame: Uint8Array, recvAtUs: number): void {
    if (conns.length === 1) {
      conns[0]!.link.push({ frame, users: [user], recv_at_us: recvAtUs });
      return;
    }
    const links = new Set<L>();
    for (const c of conns) links.add(c.link);
    for (const link of links) link.push({ frame, users: [user], recv_at_us: recvAtUs });
  }

  // ---------------------------------------------------------------- acks & receipts

  private async applyAcks(acks: { state: ConnState<L>; ref: number; ack: AckBody }[]): Promise<Receipt[]> {
    const receipts: Receipt[] = [];
    for (const { state, ref, ack } of acks) {
      const user = state.user;
      if (!ack.chat_id || Buffer.byteLength(ack.chat_id) > this.limits.chat_id_bytes_max) {
        this.replyError(state, ref, new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'ack.chat_id missing or too long'));
        continue;
      }
      const chat = await this.chat(ack.chat_id);
      const member = chat?.members.get(user);
      if (!chat || !member) {
        this.replyError(state, ref, new ProtocolError(ErrorCode.NOT_A_PARTICIPANT, `not a participant of ${ack.chat_id}`));
        continue;
      }
      const read = Math.min(ack.read_up_to || 0, chat.last_id);
      const delivered = Math.min(Math.max(ack.delivered_up_to || 0, read), chat.last_id);
      let moved = false;
      if (delivered > member.delivered_id) {
        const head = await this.headAtOrBelow(chat, delivered);
        if (head && head.seq > member.delivered_seq) {
          const before = member.delivered_seq;
          member.delivered_id = head.id;
          member.delivered_seq = head.seq;
          rollOverOwn(chat, member);
          this.addPending(user, before - member.delivered_seq);
          moved = true;
          receipts.push({ chat, user, kind: ReceiptKind.DELIVERED, upTo: head.id });
        }
      }
      if (read > member.read_id) {
        member.read_id = read;
        moved = true;
        receipts.push({ chat, user, kind: ReceiptKind.READ, upTo: read });
      }
      if (moved) this.markWatermark(chat.chat_id, member);
      const drain = this.drains.get(user);
      if (drain) {
        const outstanding = drain.outstanding.get(chat.chat_id);
        if (outstanding !== undefined && member.delivered_id >= outstanding) drain.outstanding.delete(chat.chat_id);
      }
    }
    return receipts;
  }

  private async headAtOrBelow(chat: CachedChat, id: number): Promise<{ id: number; seq: number } | null> {
    const r = chat.recent;
    if (r.length > 0 && r[0]!.id <= id) {
      for (let i = r.length - 1; i >= 0; i--) if (r[i]!.id <= id) return r[i]!;
    }
    return this.store.headAtOrBelow(chat.chat_id, id);
  }

  private emitReceipt(r: Receipt): void {
    const frame = encodeServerFrame({ receipt: { chat_id: r.chat.chat_id, user: r.user, kind: r.kind, up_to_id: r.upTo } });
    for (const m of r.chat.members.keys()) {
      if (m === r.user) continue;
      const conns = this.routes.connsOfUser(m);
      if (conns) this.deliver(conns, m, frame, 0);
    }
  }

  // ---------------------------------------------------------------- history

  private async answerHistory(state: ConnState<L>, ref: number, req: HistoryRequestBody): Promise<void> {
    if (!req.chat_id || Buffer.byteLength(req.chat_id) > this.limits.chat_id_bytes_max) {
      this.replyError(state, ref, new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'history.chat_id missing or too long'));
      return;
    }
    const chat = await this.chat(req.chat_id);
    const member = chat?.members.get(state.user);
    if (!chat || !member) {
      // Same answer for "no such chat" and "not yours": do not reveal which chats exist.
      this.replyError(state, ref, new ProtocolError(ErrorCode.NOT_A_PARTICIPANT, `not a participant of ${req.chat_id}`));
      return;
    }
    const limit = Math.min(req.limit || this.limits.history_page_max, this.limits.history_page_max);
    const rows = await this.store.history(chat.chat_id, req.before_id || 0, limit);
    const visible = rows.filter((m) => m.seq > member.joined_seq);
    const full = rows.length === limit && visible.length === rows.length;
    this.sendTo(state, encodeServerFrame({
      history: {
        ref, chat_id: chat.chat_id, messages: visible.map((m) => toMessageBody(m, true)),
        next_before_id: full ? rows[rows.length - 1]!.id : 0,
      },
    }));
  }

  // ---------------------------------------------------------------- presence

  private subscribePresence(state: ConnState<L>, ref: number, userIds: number[], nowMs: number): void {
    if (userIds.length > this.limits.presence_watch_max) {
      this.replyError(state, ref, new ProtocolError(
        ErrorCode.TOO_MANY_WATCHED, `${userIds.length} users exceed presence_watch_max=${this.limits.presence_watch_max}`,
      ));
      return;
    }
    const users = [...new Set(userIds.filter((u) => Number.isSafeInteger(u) && u > 0 && u !== state.user))];
    this.routes.setWatching(state, users);
    void this.sendPresenceSnapshot(state, users, nowMs);
  }

  private async sendPresenceSnapshot(state: ConnState<L>, users: number[], nowMs: number): Promise<void> {
    for (const u of users) {
      const online = this.routes.isOnline(u);
      const lastSeen = online ? nowMs : ((await this.store.getUser(u))?.last_seen_ms ?? 0);
      this.sendTo(state, encodeServerFrame({ presence: { user: u, online, last_seen_ms: lastSeen } }));
    }
  }

  private emitPresence(user: number, online: boolean, lastSeenMs: number): void {
    const watchers = this.routes.watchersOf(user);
    if (!watchers || watchers.size === 0) return;
    const frame = encodeServerFrame({ presence: { user, online, last_seen_ms: lastSeenMs } });
    for (const w of watchers) this.sendTo(w, frame);
  }

  private disconnect(
    link: L, conn: number, nowMs: number, batch: CommitBatch,
    presenceChanges: { user: number; online: boolean; lastSeenMs: number }[],
  ): void {
    const { state, wentOffline } = this.routes.remove(link, conn);
    if (!state) return;
    const drain = this.drains.get(state.user);
    if (drain && drain.conn === state) this.endDrain(drain);
    if (wentOffline) {
      batch.last_seen.push({ user: state.user, last_seen_ms: nowMs });
      presenceChanges.push({ user: state.user, online: false, lastSeenMs: nowMs });
    }
  }

  // ---------------------------------------------------------------- offline drain
  //
  // A connecting user first receives everything it missed, oldest first, one
  // page at a time: the next page leaves when the client has acked the last
  // one (flow control by acks), and at most drain_concurrent_max users drain at
  // once (a reconnect flood queues instead of stampeding the store). Live
  // messages for a draining user are held back and picked up by the drain, so
  // per-chat order holds across the switch.

  private startDrain(state: ConnState<L>): void {
    if (this.routes.conn(state.link, state.conn) !== state) return; // closed in the same tick
    const existing = this.drains.get(state.user);
    if (existing) this.endDrain(existing);
    const drain: Drain<L> = { user: state.user, conn: state, active: false, outstanding: new Map(), sent: 0, deadlineMs: 0 };
    this.drains.set(state.user, drain);
    this.drainQueue.push(drain);
  }

  private async stepDrains(nowMs: number): Promise<void> {
    // Drains that finish at once (nothing pending: the common case) free their
    // slot in this same tick, so keep admitting queued ones; bounded per tick.
    for (let round = 0; round < DRAIN_ROUNDS_PER_TICK_MAX; round++) {
      while (this.drainsActive < this.limits.drain_concurrent_max && this.drainQueue.length > 0) {
        const next = this.drainQueue.shift()!;
        if (this.drains.get(next.user) !== next) continue;
        next.active = true;
        this.drainsActive++;
      }
      for (const drain of [...this.drains.values()]) {
        if (!drain.active || drain.outstanding.size > 0) continue;
        await this.sendDrainPage(drain, nowMs);
      }
      if (this.drainQueue.length === 0 || this.drainsActive >= this.limits.drain_concurrent_max) return;
    }
    this.kick();
  }

  private async sendDrainPage(drain: Drain<L>, nowMs: number): Promise<void> {
    let budget = this.limits.drain_page_messages_max;
    const ttlFloorId = idFloorForTime(nowMs - this.limits.offline_queue_ttl_seconds * 1000);
    let moved = false;
    const frames: Uint8Array[] = [];
    const pending = await this.store.pendingChats(drain.user);
    pending.sort((x, y) => x.delivered_id - y.delivered_id);
    for (const p of pending) {
      if (budget === 0) break;
      const chat = await this.chat(p.chat_id);
      const member = chat?.members.get(drain.user);
      if (!chat || !member) continue;
      const rows = await this.store.messagesAfter(chat.chat_id, Math.max(member.delivered_id, ttlFloorId - 1), budget);
      let lastSent = 0;
      for (const m of rows) {
        if (m.sender === drain.user) continue;
        frames.push(encodeServerFrame({ message: toMessageBody(m, true) }));
        lastSent = m.id;
        budget--;
      }
      if (lastSent > 0) {
        drain.outstanding.set(chat.chat_id, lastSent);
      } else if (rows.length > 0 || member.delivered_id < ttlFloorId - 1) {
        // Nothing to deliver (own messages, or everything expired): move the
        // watermark past it without waiting for the client.
        const last = rows.length > 0 ? rows[rows.length - 1]! : null;
        const head = last ?? (await this.store.headAtOrBelow(chat.chat_id, chat.last_id));
        if (head && head.seq > member.delivered_seq) {
          this.addPending(drain.user, member.delivered_seq - head.seq);
          member.delivered_id = head.id;
          member.delivered_seq = head.seq;
          this.markWatermark(chat.chat_id, member);
          moved = true;
        }
      }
    }
    if (frames.length > 0) {
      for (const f of frames) this.sendTo(drain.conn, f);
      drain.sent += frames.length;
      this.stats.deliveriesReplayed += frames.length;
      drain.deadlineMs = nowMs + DRAIN_ACK_TIMEOUT_MS;
      return;
    }
    if (moved && pending.length > 0) {
      // Watermarks moved without sending: look again next tick.
      this.kick();
      return;
    }
    this.sendTo(drain.conn, encodeServerFrame({ drain_done: { messages: drain.sent } }));
    this.endDrain(drain);
  }

  private endDrain(drain: Drain<L>): void {
    if (this.drains.get(drain.user) === drain) this.drains.delete(drain.user);
    if (drain.active) {
      drain.active = false;
      this.drainsActive--;
    }
  }

  /** A client that stops acking mid-drain gives its slot back; the rest waits for its next connect. */
  private expireDrains(): void {
    const nowMs = this.now();
    for (const drain of this.drains.values()) {
      if (drain.active && drain.outstanding.size > 0 && drain.deadlineMs < nowMs) this.endDrain(drain);
    }
    if (this.drainQueue.length > 0 && this.drainsActive < this.limits.drain_concurrent_max) this.kick();
  }

  // ---------------------------------------------------------------- watermarks
  //
  // Watermark moves are kept in memory and written every WATERMARK_FLUSH_MS
  // (one row per chat member however many acks moved it), not per ack: a
  // watermark lost in a crash only makes the server redeliver messages the
  // client already has, which clients de-duplicate (delivery is at-least-once).
  // This takes a store write per ack off the hot path.

  private markWatermark(chatId: string, member: MemberState): void {
    this.dirtyWatermarks.set(`${chatId}\u0000${member.user}`, { chatId, member });
  }

  private takeDirtyWatermarks(batch: CommitBatch): void {
    this.watermarkFlushDue = false;
    for (const { chatId, member: m } of this.dirtyWatermarks.values()) {
      batch.watermarks.push({ chat_id: chatId, user: m.user, delivered_id: m.delivered_id, delivered_seq: m.delivered_seq, read_id: m.read_id });
    }
    this.dirtyWatermarks.clear();
  }

  private requestWatermarkFlush(): void {
    if (this.dirtyWatermarks.size === 0) return;
    this.watermarkFlushDue = true;
    this.kick();
  }

  /** Write every pending watermark now (shutdown). */
  async flushWatermarks(): Promise<void> {
    while (this.running) await new Promise((r) => setImmediate(r));
    const batch: CommitBatch = { new_chats: [], messages: [], watermarks: [], last_seen: [] };
    this.takeDirtyWatermarks(batch);
    if (batch.watermarks.length > 0) await this.store.commit(batch);
  }

  // ---------------------------------------------------------------- helpers

  private async pendingOf(user: number): Promise<number> {
    const known = this.pendingByUser.get(user);
    if (known !== undefined) return known;
    let total = 0;
    for (const p of await this.store.pendingChats(user)) total += Math.max(0, p.pending);
    if (this.pendingByUser.size >= this.limits.chat_cache_entries_max) this.pendingByUser.clear();
    this.pendingByUser.set(user, total);
    return total;
  }

  private addPending(user: number, delta: number): void {
    const known = this.pendingByUser.get(user);
    if (known !== undefined) this.pendingByUser.set(user, Math.max(0, known + delta));
  }

  private rememberUser(id: number): void {
    if (this.knownUsers.size >= KNOWN_USERS_MAX) this.knownUsers.clear();
    this.knownUsers.add(id);
  }

  private rememberClientId(key: string, msg: StoredMessage): void {
    if (this.recentClientIds.size >= RECENT_CLIENT_IDS_MAX) {
      const oldest = this.recentClientIds.keys().next().value;
      if (oldest !== undefined) this.recentClientIds.delete(oldest);
    }
    this.recentClientIds.set(key, msg);
  }

  private sendTo(state: ConnState<L>, frame: Uint8Array): void {
    state.link.push({ frame, conns: [state.conn] });
  }

  private replyError(state: ConnState<L>, ref: number, err: unknown): void {
    const code = err instanceof ProtocolError ? err.code : ErrorCode.INTERNAL;
    const message = err instanceof Error ? err.message : String(err);
    this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
    this.sendTo(state, encodeServerFrame({ error: { ref, code, message } }));
  }
}

interface Accepted<L extends LinkSink> {
  s: PendingSend<L>;
  msg: StoredMessage;
  duplicate: boolean;
  recipients: number[];
}

interface Receipt {
  chat: ChatState;
  user: number;
  kind: number;
  upTo: number;
}


function newMember(user: number): MemberState {
  return { user, delivered_id: 0, delivered_seq: 0, read_id: 0, joined_seq: 0 };
}

function pushRecent(chat: CachedChat, id: number, seq: number, sender: number): void {
  if (chat.recent.length === RECENT_PER_CHAT_MAX) chat.recent.shift();
  chat.recent.push({ id, seq, sender });
}

/** After an ack, step the watermark over the member's own messages that follow it. */
function rollOverOwn(chat: CachedChat, member: MemberState): void {
  for (const r of chat.recent) {
    if (r.seq !== member.delivered_seq + 1) continue;
    if (r.sender !== member.user) break;
    member.delivered_id = r.id;
    member.delivered_seq = r.seq;
  }
}


function toMessageBody(m: StoredMessage, replay: boolean): MessageBody {
  return {
    id: m.id, chat_id: m.chat_id, seq: m.seq, from_user: m.sender, client_msg_id: m.client_msg_id,
    body: m.body, sent_at_ms: m.sent_at_ms, replay,
  };
}
