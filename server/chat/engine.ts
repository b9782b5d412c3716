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
  decodeSystemEvent,
  encodeServerFrame,
  encodeSystemEvent,
  GroupChangeKind,
  ReceiptKind,
  type AckBody,
  type ClientFrame,
  type CreateGroupBody,
  type GroupChangeBody,
  type GroupInfoBody,
  type HistoryRequestBody,
  type MessageBody,
  type SendBody,
} from '../common/protocol';
import {
  batchIsEmpty,
  ChatKind,
  clientKey,
  emptyBatch,
  MessageKind,
  type ChatState,
  type ClientKey,
  type CommitBatch,
  type MemberState,
  type MessageStore,
  type StoredMessage,
} from '../store/store';
import { spinUs } from '../common/debug-slowdown';
import { directChatId, isDirectChatId } from '../common/chat-id';
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
  recent: RecentEntry[];
  /** Groups: the aggregate watermarks already announced to senders (every member has / has read up to). */
  aggDeliveredId?: number;
  aggReadId?: number;
}

interface RecentEntry {
  id: number;
  seq: number;
  sender: number;
  kind: number;
}

const RECENT_PER_CHAT_MAX = 32;
const RECENT_CLIENT_IDS_MAX = 100_000;
const KNOWN_USERS_MAX = 1_000_000;
const DRAIN_ACK_TIMEOUT_MS = 10_000;
const DRAIN_ROUNDS_PER_TICK_MAX = 64;
const WATERMARK_FLUSH_MS = 200;
const AGGREGATE_SCAN_MESSAGES_MAX = 1000;
/** WA_DEBUG_DRAIN=1 logs every drain step (operators chasing a reconnect problem). */
const DEBUG_DRAIN = process.env.WA_DEBUG_DRAIN === '1';

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
  /** User messages stored, by chat kind (messagesStored also counts group system events). */
  sendsDirect: number;
  sendsGroup: number;
  /** Sends answered with an error frame. */
  sendsRejected: number;
  deliveriesLive: number;
  deliveriesReplayed: number;
  duplicatesSuppressed: number;
  drainsCompleted: number;
  presenceOnline: number;
  presenceOffline: number;
  presenceUpdatesSent: number;
  errors: Record<string, number>;
}

/** Per-tick observation hook (server/metrics); null when metrics are off. */
export type TickObserver = (durationSeconds: number, events: number) => void;

export class ChatEngine<L extends LinkSink> {
  readonly routes = new RouteRegistry<L>();
  readonly stats: EngineStats = {
    ticks: 0, messagesStored: 0, sendsDirect: 0, sendsGroup: 0, sendsRejected: 0, deliveriesLive: 0, deliveriesReplayed: 0,
    duplicatesSuppressed: 0, drainsCompleted: 0, presenceOnline: 0, presenceOffline: 0, presenceUpdatesSent: 0, errors: {},
  };
  onTick: TickObserver | null = null;
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
  /** Test aid (server/common/debug-slowdown.ts): CPU µs burnt per accepted message; 0 in production. */
  debugSlowdownUs = 0;

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

  // ---------------------------------------------------------------- the tick

  private async tick(items: { link: L; ev: InboundEvent }[]): Promise<void> {
    this.stats.ticks++;
    const nowMs = this.now();
    const batch = emptyBatch();
    if (this.watermarkFlushDue) this.takeDirtyWatermarks(batch);
    const ops: Op<L>[] = [];
    const infos: { state: ConnState<L>; ref: number; frame: ClientFrame }[] = [];
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
            case 'send': ops.push({ kind: 'send', s: { state, ref: frame.ref, send: frame.send, recv_at_us: ev.recv_at_us } }); break;
            case 'create_group': ops.push({ kind: 'create', state, ref: frame.ref, body: frame.create_group, recv_at_us: ev.recv_at_us }); break;
            case 'group_change': ops.push({ kind: 'change', state, ref: frame.ref, body: frame.group_change, recv_at_us: ev.recv_at_us }); break;
            case 'group_info':
            case 'message_info': infos.push({ state, ref: frame.ref, frame }); break;
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

    const effects: Effect<L>[] = [];
    await this.processOps(ops, batch, nowMs, effects);
    const receipts = await this.applyAcks(acks);

    for (const chat of batch.new_chats) chat.members = new Map([...chat.members].map(([u, m]) => [u, { ...m }])); // snapshot for the store
    if (!batchIsEmpty(batch)) await this.store.commit(batch);
    this.stats.messagesStored += batch.messages.length;

    // Users who connected in this tick drain first: their drain delivers this
    // tick's messages too, in order, so nothing reaches them twice.
    for (const state of connected) this.startDrain(state);
    // Only now is everything durable: acknowledge, deliver, tell.
    for (const e of effects) this.emitEffect(e);
    for (const r of receipts) this.emitReceipt(r);
    for (const p of presenceChanges) this.emitPresence(p.user, p.online, p.lastSeenMs);
    for (const h of histories) await this.answerHistory(h.state, h.ref, h.req);
    for (const i of infos) await this.answerInfo(i.state, i.ref, i.frame);
    await this.stepDrains(nowMs);
  }

  // ---------------------------------------------------------------- sends and group changes
  //
  // Sends, group creations and membership changes run in arrival order, so
  // "remove X, then send m" in one batch never delivers m to X, and a member
  // added after a message does not get it.

  private async processOps(ops: Op<L>[], batch: CommitBatch, nowMs: number, effects: Effect<L>[]): Promise<void> {
    if (ops.length === 0) return;
    // Existence of every user these ops name, in one store round.
    const unknown = new Set<number>();
    const toLookUp: ClientKey[] = [];
    for (const op of ops) {
      if (op.kind === 'send') {
        const to = op.s.send.to_user;
        if (!op.s.send.chat_id && Number.isSafeInteger(to) && to > 0 && !this.knownUsers.has(to)) unknown.add(to);
        const cmid = op.s.send.client_msg_id;
        if (cmid && !this.recentClientIds.has(clientKey(op.s.state.user, cmid))) {
          toLookUp.push({ sender: op.s.state.user, client_msg_id: cmid });
        }
      } else {
        const users = op.kind === 'create' ? op.body.members : op.body.users;
        for (const u of users.slice(0, this.limits.group_members_max + 1)) {
          if (Number.isSafeInteger(u) && u > 0 && !this.knownUsers.has(u)) unknown.add(u);
        }
      }
    }
    if (unknown.size > 0) for (const id of await this.store.existingUsers([...unknown])) this.rememberUser(id);
    // Idempotency: the recent map, then the store (one batched lookup), then this tick's own twins.
    if (toLookUp.length > 0) {
      for (const [key, msg] of await this.store.findByClientIds(toLookUp)) this.rememberClientId(key, msg);
    }
    for (const op of ops) {
      try {
        if (op.kind === 'send') await this.acceptSend(op.s, batch, nowMs, effects);
        else if (op.kind === 'create') await this.createGroup(op, batch, nowMs, effects);
        else await this.changeGroup(op, batch, nowMs, effects);
      } catch (err) {
        const state = op.kind === 'send' ? op.s.state : op.state;
        const ref = op.kind === 'send' ? op.s.ref : op.ref;
        if (!(err instanceof ProtocolError)) throw err;
        if (op.kind === 'send') this.stats.sendsRejected++;
        this.replyError(state, ref, err);
      }
    }
  }

  private async acceptSend(s: PendingSend<L>, batch: CommitBatch, nowMs: number, effects: Effect<L>[]): Promise<void> {
    const problem = this.checkSend(s);
    if (problem) throw problem;
    const from = s.state.user;
    const key = clientKey(from, s.send.client_msg_id);
    const earlier = this.recentClientIds.get(key);
    if (earlier) {
      this.stats.duplicatesSuppressed++;
      effects.push({ t: 'sent', s, msg: earlier });
      return;
    }
    let chat: CachedChat;
    let recipients: number[];
    if (s.send.chat_id) {
      chat = await this.memberChat(s.send.chat_id, from, ChatKind.Group);
      recipients = [];
      for (const u of chat.members.keys()) if (u !== from) recipients.push(u);
    } else {
      const to = s.send.to_user;
      if (!this.knownUsers.has(to)) throw new ProtocolError(ErrorCode.UNKNOWN_USER, `user ${to} does not exist`);
      // Cache hits stay synchronous: an await per message costs a promise and a microtask turn.
      const pending = this.pendingByUser.get(to) ?? (await this.pendingOf(to));
      if (pending >= this.limits.offline_queue_messages_max) {
        throw new ProtocolError(ErrorCode.QUEUE_FULL,
          `user ${to} has offline_queue_messages_max=${this.limits.offline_queue_messages_max} undelivered messages`);
      }
      chat = this.chats.get(directChatId(from, to)) ?? (await this.directChat(from, to, batch));
      recipients = [to];
      this.addPending(to, 1);
    }
    if (this.debugSlowdownUs > 0) spinUs(this.debugSlowdownUs);
    const msg = this.append(chat, from, s.send.client_msg_id, s.send.body, MessageKind.User, batch, nowMs);
    if (s.send.chat_id) this.stats.sendsGroup++;
    else this.stats.sendsDirect++;
    this.rememberClientId(key, msg);
    effects.push({ t: 'sent', s, msg });
    effects.push({ t: 'fanout', msg, recipients, recvAtUs: s.recv_at_us });
  }

  /** Give the next id and seq of `chat` to a new message (or system event) and stage it. */
  private append(chat: CachedChat, from: number, cmid: string, body: Uint8Array, kind: number, batch: CommitBatch, nowMs: number): StoredMessage {
    const id = this.ids.next();
    const seq = chat.last_seq + 1;
    chat.last_id = id;
    chat.last_seq = seq;
    pushRecent(chat, id, seq, from, kind);
    const msg: StoredMessage = { id, chat_id: chat.chat_id, seq, sender: from, client_msg_id: cmid, body, sent_at_ms: nowMs, kind };
    batch.messages.push(msg);
    // The sender has its own message: if it was caught up, its watermark moves with it.
    const own = chat.members.get(from);
    if (own && own.delivered_seq === seq - 1) {
      own.delivered_id = id;
      own.delivered_seq = seq;
      own.read_id = id;
      this.markWatermark(chat.chat_id, own);
    }
    return msg;
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
    if (send.chat_id) {
      if (Buffer.byteLength(send.chat_id) > this.limits.chat_id_bytes_max) {
        return new ProtocolError(ErrorCode.FIELD_TOO_LONG, `chat_id longer than chat_id_bytes_max=${this.limits.chat_id_bytes_max}`);
      }
      return null;
    }
    if (!Number.isSafeInteger(send.to_user) || send.to_user <= 0) {
      return new ProtocolError(ErrorCode.MISSING_FIELD, 'send.to_user is required');
    }
    if (send.to_user === s.state.user) return new ProtocolError(ErrorCode.SELF_SEND, 'cannot send a message to yourself');
    return null;
  }

  /** The chat if `user` is a member of it (and it is of `kind`); NOT_A_PARTICIPANT otherwise, also for unknown chats. */
  private async memberChat(chatId: string, user: number, kind?: ChatKind): Promise<CachedChat> {
    if (!chatId || Buffer.byteLength(chatId) > this.limits.chat_id_bytes_max) {
      throw new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'chat_id missing or too long');
    }
    const chat = await this.chat(chatId);
    if (!chat || !chat.members.has(user) || (kind !== undefined && chat.kind !== kind)) {
      // Same answer for "no such chat" and "not yours": do not reveal which chats exist.
      throw new ProtocolError(ErrorCode.NOT_A_PARTICIPANT, `not a participant of ${chatId.slice(0, 64)}`);
    }
    return chat;
  }

  private async directChat(a: number, b: number, batch: CommitBatch): Promise<CachedChat> {
    const chatId = directChatId(a, b);
    const cached = await this.chat(chatId);
    if (cached) return cached;
    const chat: CachedChat = {
      chat_id: chatId, kind: ChatKind.Direct, last_id: 0, last_seq: 0, recent: [], name: '', created_by: 0,
      members: new Map([
        [a, newMember(a, false)],
        [b, newMember(b, false)],
      ]),
    };
    this.cacheChat(chat);
    batch.new_chats.push({ chat_id: chatId, kind: ChatKind.Direct, last_id: 0, last_seq: 0, members: chat.members, name: '', created_by: 0 });
    return chat;
  }

  private async chat(chatId: string): Promise<CachedChat | null> {
    const hit = this.chats.get(chatId);
    if (hit) return hit;
    const loaded = await this.store.loadChat(chatId);
    if (!loaded) return null;
    const chat: CachedChat = { ...loaded, recent: [] };
    if (chat.kind === ChatKind.Group) this.aggregateMoves(chat); // start from the stored state, announce only new progress
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

  // ---------------------------------------------------------------- groups

  private async createGroup(op: CreateOp<L>, batch: CommitBatch, nowMs: number, effects: Effect<L>[]): Promise<void> {
    const creator = op.state.user;
    const name = op.body.name ?? '';
    this.checkGroupName(name);
    const members = [...new Set(op.body.members)].filter((u) => u !== creator);
    if (members.length + 1 > this.limits.group_members_max) {
      throw new ProtocolError(ErrorCode.GROUP_FULL, `${members.length + 1} members exceed group_members_max=${this.limits.group_members_max}`);
    }
    this.checkUsersExist(members);
    const chatId = `g.${this.ids.next()}`;
    const chat: CachedChat = {
      chat_id: chatId, kind: ChatKind.Group, last_id: 0, last_seq: 0, recent: [], name, created_by: creator,
      members: new Map([[creator, newMember(creator, true)], ...members.map((u) => [u, newMember(u, false)] as [number, MemberState])]),
    };
    this.cacheChat(chat);
    batch.new_chats.push({ chat_id: chatId, kind: ChatKind.Group, last_id: 0, last_seq: 0, members: chat.members, name, created_by: creator });
    const event = this.systemEvent(chat, creator, GroupChangeKind.CREATED, members, name, batch, nowMs);
    effects.push({ t: 'fanout', msg: event, recipients: members, recvAtUs: op.recv_at_us });
    effects.push({ t: 'groupinfo', state: op.state, ref: op.ref, chat });
  }

  private async changeGroup(op: ChangeOp<L>, batch: CommitBatch, nowMs: number, effects: Effect<L>[]): Promise<void> {
    const actor = op.state.user;
    const chat = await this.memberChat(op.body.chat_id, actor, ChatKind.Group);
    const me = chat.members.get(actor)!;
    const kind = op.body.kind;
    const users = [...new Set(op.body.users)];
    if (users.length > this.limits.group_members_max) {
      throw new ProtocolError(ErrorCode.INVALID_ARGUMENT, `more than group_members_max=${this.limits.group_members_max} users in one change`);
    }
    if (kind !== GroupChangeKind.LEAVE && !me.admin) {
      throw new ProtocolError(ErrorCode.NOT_ADMIN, 'only group admins can do that');
    }
    const extraRecipients: number[] = [];
    let changed: number[] = [];
    switch (kind) {
      case GroupChangeKind.ADD: {
        changed = users.filter((u) => !chat.members.has(u));
        if (chat.members.size + changed.length > this.limits.group_members_max) {
          throw new ProtocolError(ErrorCode.GROUP_FULL,
            `${chat.members.size + changed.length} members exceed group_members_max=${this.limits.group_members_max}`);
        }
        this.checkUsersExist(changed);
        if (changed.length === 0) break;
        // New members start at the add event: they see it and everything after, nothing before.
        for (const u of changed) {
          const m: MemberState = {
            user: u, delivered_id: chat.last_id, delivered_seq: chat.last_seq, read_id: chat.last_id, joined_seq: chat.last_seq, admin: false,
          };
          chat.members.set(u, m);
          batch.member_changes.push({ chat_id: chat.chat_id, member: { ...m } });
        }
        break;
      }
      case GroupChangeKind.REMOVE: {
        if (users.includes(actor)) throw new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'to remove yourself, leave the group');
        changed = users.filter((u) => chat.members.has(u));
        for (const u of changed) {
          chat.members.delete(u);
          batch.member_changes.push({ chat_id: chat.chat_id, remove: u });
          this.outstandingDrainChatGone(u, chat.chat_id);
        }
        extraRecipients.push(...changed); // the removed learn they are out
        break;
      }
      case GroupChangeKind.PROMOTE:
      case GroupChangeKind.DEMOTE: {
        const admin = kind === GroupChangeKind.PROMOTE;
        changed = users.filter((u) => chat.members.has(u) && chat.members.get(u)!.admin !== admin);
        if (!admin) {
          const adminsLeft = [...chat.members.values()].filter((m) => m.admin && !changed.includes(m.user)).length;
          if (adminsLeft === 0) throw new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'a group keeps at least one admin');
        }
        for (const u of changed) {
          const m = chat.members.get(u)!;
          m.admin = admin;
          batch.member_changes.push({ chat_id: chat.chat_id, member: { ...m } });
        }
        break;
      }
      case GroupChangeKind.LEAVE: {
        changed = [actor];
        chat.members.delete(actor);
        batch.member_changes.push({ chat_id: chat.chat_id, remove: actor });
        this.outstandingDrainChatGone(actor, chat.chat_id);
        extraRecipients.push(actor);
        break;
      }
      case GroupChangeKind.RENAME: {
        this.checkGroupName(op.body.name ?? '');
        chat.name = op.body.name ?? '';
        batch.chat_renames.push({ chat_id: chat.chat_id, name: chat.name });
        break;
      }
      default:
        throw new ProtocolError(ErrorCode.INVALID_ARGUMENT, `unknown group change kind ${kind}`);
    }
    if (changed.length > 0 || kind === GroupChangeKind.RENAME) {
      const event = this.systemEvent(chat, actor, kind, changed, kind === GroupChangeKind.RENAME ? chat.name : '', batch, nowMs);
      const recipients = [...chat.members.keys()].filter((u) => u !== actor).concat(extraRecipients.filter((u) => u !== actor));
      effects.push({ t: 'fanout', msg: event, recipients, recvAtUs: op.recv_at_us });
      // The last admin left: the longest-standing member takes over, as a system event of its own.
      if (kind === GroupChangeKind.LEAVE && chat.members.size > 0 && ![...chat.members.values()].some((m) => m.admin)) {
        const heir = [...chat.members.values()].sort((a, b) => a.joined_seq - b.joined_seq || a.user - b.user)[0]!;
        heir.admin = true;
        batch.member_changes.push({ chat_id: chat.chat_id, member: { ...heir } });
        const promoted = this.systemEvent(chat, 0, GroupChangeKind.PROMOTE, [heir.user], '', batch, nowMs);
        effects.push({ t: 'fanout', msg: promoted, recipients: [...chat.members.keys()], recvAtUs: op.recv_at_us });
      }
      if (kind === GroupChangeKind.REMOVE || kind === GroupChangeKind.LEAVE) effects.push(...this.aggregateReceipts(chat));
    }
    if (kind !== GroupChangeKind.LEAVE) effects.push({ t: 'groupinfo', state: op.state, ref: op.ref, chat });
    else effects.push({ t: 'groupinfo', state: op.state, ref: op.ref, chat: { ...chat, members: new Map() } });
  }

  private systemEvent(chat: CachedChat, actor: number, kind: number, users: number[], name: string, batch: CommitBatch, nowMs: number): StoredMessage {
    const body = encodeSystemEvent({ kind, actor, users, name });
    // The client id only has to be unique per sender: the id is.
    return this.append(chat, actor, `sys.${chat.last_seq + 1}.${chat.chat_id}`, body, MessageKind.System, batch, nowMs);
  }

  private checkGroupName(name: string): void {
    if (Buffer.byteLength(name) > this.limits.group_name_bytes_max) {
      throw new ProtocolError(ErrorCode.FIELD_TOO_LONG, `group name longer than group_name_bytes_max=${this.limits.group_name_bytes_max}`);
    }
  }

  private checkUsersExist(users: number[]): void {
    for (const u of users) {
      if (!Number.isSafeInteger(u) || u <= 0 || !this.knownUsers.has(u)) throw new ProtocolError(ErrorCode.UNKNOWN_USER, `user ${u} does not exist`);
    }
  }

  /** A user left or was removed mid-drain: stop waiting for its ack in that chat. */
  private outstandingDrainChatGone(user: number, chatId: string): void {
    this.drains.get(user)?.outstanding.delete(chatId);
  }

  private async answerInfo(state: ConnState<L>, ref: number, frame: ClientFrame): Promise<void> {
    try {
      if (frame.body === 'group_info') {
        const chat = await this.memberChat(frame.group_info.chat_id, state.user, ChatKind.Group);
        this.sendTo(state, encodeServerFrame({ group_info: groupInfo(chat, ref) }));
      } else if (frame.body === 'message_info') {
        const chat = await this.memberChat(frame.message_info.chat_id, state.user);
        const id = frame.message_info.id;
        const delivered: number[] = [];
        const read: number[] = [];
        for (const m of chat.members.values()) {
          if (m.user === state.user) continue;
          if (m.delivered_id >= id) delivered.push(m.user);
          if (m.read_id >= id) read.push(m.user);
        }
        this.sendTo(state, encodeServerFrame({ message_info: { ref, chat_id: chat.chat_id, id, delivered_to: delivered, read_by: read } }));
      }
    } catch (err) {
      this.replyError(state, ref, err);
    }
  }

  // ---------------------------------------------------------------- emitting (after the commit)

  private emitEffect(e: Effect<L>): void {
    switch (e.t) {
      case 'sent': {
        const { s, msg } = e;
        this.sendTo(s.state, encodeServerFrame({
          sent: { ref: s.ref, client_msg_id: msg.client_msg_id, id: msg.id, chat_id: msg.chat_id, seq: msg.seq, server_time_ms: msg.sent_at_ms },
        }));
        return;
      }
      case 'fanout':
        this.fanOut(e.msg, e.recipients, e.recvAtUs);
        return;
      case 'groupinfo':
        this.sendTo(e.state, encodeServerFrame({ group_info: groupInfo(e.chat, e.ref) }));
        return;
      case 'receipt':
        this.emitReceipt(e.r);
        return;
    }
  }

  /**
   * Deliver one stored message to every online recipient that is not draining
   * (a draining user gets it from its drain, in order): the frame is encoded
   * once, and each gateway link gets ONE Outbound listing all its recipients.
   */
  private fanOut(msg: StoredMessage, recipients: readonly number[], recvAtUs: number): void {
    let frame: Uint8Array | null = null;
    if (recipients.length === 1) {
      const to = recipients[0]!;
      const conns = this.drains.has(to) ? undefined : this.routes.connsOfUser(to);
      if (!conns) return;
      frame = encodeServerFrame({ message: toMessageBody(msg, false) });
      this.deliver(conns, to, frame, recvAtUs);
      this.stats.deliveriesLive++;
      return;
    }
    const byLink = new Map<L, number[]>();
    for (const to of recipients) {
      if (this.drains.has(to)) continue;
      const conns = this.routes.connsOfUser(to);
      if (!conns) continue;
      for (const c of conns) {
        const list = byLink.get(c.link);
        if (!list) byLink.set(c.link, [to]);
        else if (list[list.length - 1] !== to) list.push(to);
      }
      this.stats.deliveriesLive++;
    }
    if (byLink.size === 0) return;
    frame = encodeServerFrame({ message: toMessageBody(msg, false) });
    for (const [link, users] of byLink) link.push({ frame, users, recv_at_us: recvAtUs });
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
    const groupsMoved = new Set<CachedChat>();
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
          if (chat.kind === ChatKind.Direct) {
            this.addPending(user, before - member.delivered_seq);
            receipts.push({ chat, user, kind: ReceiptKind.DELIVERED, upTo: head.id, to: null });
          }
          moved = true;
        }
      }
      if (read > member.read_id) {
        member.read_id = read;
        moved = true;
        if (chat.kind === ChatKind.Direct) receipts.push({ chat, user, kind: ReceiptKind.READ, upTo: read, to: null });
      }
      if (moved) {
        this.markWatermark(chat.chat_id, member);
        if (chat.kind === ChatKind.Group) groupsMoved.add(chat);
      }
      const drain = this.drains.get(user);
      if (drain) {
        const outstanding = drain.outstanding.get(chat.chat_id);
        if (outstanding !== undefined && member.delivered_id >= outstanding) drain.outstanding.delete(chat.chat_id);
      }
    }
    for (const chat of groupsMoved) {
      for (const e of await this.aggregateReceiptsAsync(chat)) receipts.push(e.r);
    }
    return receipts;
  }

  /**
   * Groups: senders hear "delivered" (or "read") once EVERY current member has
   * the message, as one aggregate watermark (user 0) - not one receipt per
   * member per message. The aggregate is the minimum member watermark: O(members)
   * per moved chat per tick, never a scan of messages.
   */
  private aggregateReceipts(chat: CachedChat): Effect<L>[] {
    const out: Effect<L>[] = [];
    for (const r of this.aggregateMoves(chat)) {
      const senders = new Set<number>();
      for (const e of chat.recent) if (e.kind === MessageKind.User && e.id > r.from && e.id <= r.upTo) senders.add(e.sender);
      out.push({ t: 'receipt', r: { chat, user: 0, kind: r.kind, upTo: r.upTo, to: [...senders] } });
    }
    return out;
  }

  private async aggregateReceiptsAsync(chat: CachedChat): Promise<{ r: Receipt }[]> {
    const out: { r: Receipt }[] = [];
    for (const r of this.aggregateMoves(chat)) {
      const senders = new Set<number>();
      const first = chat.recent[0];
      if (first && first.id <= r.from + 1) {
        for (const e of chat.recent) if (e.kind === MessageKind.User && e.id > r.from && e.id <= r.upTo) senders.add(e.sender);
      } else {
        // The range reaches behind the in-memory ring: ask the store (bounded).
        for (const m of await this.store.messagesAfter(chat.chat_id, r.from, AGGREGATE_SCAN_MESSAGES_MAX)) {
          if (m.id > r.upTo) break;
          if (m.kind === MessageKind.User) senders.add(m.sender);
        }
      }
      out.push({ r: { chat, user: 0, kind: r.kind, upTo: r.upTo, to: [...senders] } });
    }
    return out;
  }

  private aggregateMoves(chat: CachedChat): { kind: number; from: number; upTo: number }[] {
    let delivered = Infinity;
    let read = Infinity;
    for (const m of chat.members.values()) {
      if (m.delivered_id < delivered) delivered = m.delivered_id;
      if (m.read_id < read) read = m.read_id;
    }
    if (delivered === Infinity) return [];
    chat.aggDeliveredId ??= 0;
    chat.aggReadId ??= 0;
    const moves: { kind: number; from: number; upTo: number }[] = [];
    if (delivered > chat.aggDeliveredId) {
      moves.push({ kind: ReceiptKind.DELIVERED, from: chat.aggDeliveredId, upTo: delivered });
      chat.aggDeliveredId = delivered;
    }
    if (read > chat.aggReadId) {
      moves.push({ kind: ReceiptKind.READ, from: chat.aggReadId, upTo: read });
      chat.aggReadId = read;
    }
    return moves;
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
    const targets = r.to ?? [...r.chat.members.keys()];
    for (const m of targets) {
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
    if (online) this.stats.presenceOnline++;
    else this.stats.presenceOffline++;
    const watchers = this.routes.watchersOf(user);
    if (!watchers || watchers.size === 0) return;
    this.stats.presenceUpdatesSent += watchers.size;
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
    if (DEBUG_DRAIN) console.log(`chat: drain user=${state.user} conn=${state.conn} start`);
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
      if (DEBUG_DRAIN) console.log(`chat: drain user=${drain.user} conn=${drain.conn.conn} page=${frames.length} chats=${[...drain.outstanding.keys()].join(',')}`);
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
    if (DEBUG_DRAIN) console.log(`chat: drain user=${drain.user} done sent=${drain.sent}`);
    this.sendTo(drain.conn, encodeServerFrame({ drain_done: { messages: drain.sent } }));
    this.stats.drainsCompleted++;
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
    const batch = emptyBatch();
    this.takeDirtyWatermarks(batch);
    if (batch.watermarks.length > 0) await this.store.commit(batch);
  }

  // ---------------------------------------------------------------- read-outs for metrics (scrape time, not the hot path)

  /** Offline users with undelivered 1:1 messages, and how many, from the in-memory counts (O(users cached)). */
  offlineQueueDepth(): { users: number; messages: number } {
    let users = 0;
    let messages = 0;
    for (const [user, pending] of this.pendingByUser) {
      if (pending > 0 && !this.routes.isOnline(user)) {
        users++;
        messages += pending;
      }
    }
    return { users, messages };
  }

  drainCounts(): { active: number; queued: number } {
    return { active: this.drainsActive, queued: this.drainQueue.length };
  }

  // ---------------------------------------------------------------- helpers

  private async pendingOf(user: number): Promise<number> {
    const known = this.pendingByUser.get(user);
    if (known !== undefined) return known;
    let total = 0;
    // Direct chats only: QUEUE_FULL guards 1:1 sends; a group backlog is bounded by the TTL.
    for (const p of await this.store.pendingChats(user)) if (isDirectChatId(p.chat_id)) total += Math.max(0, p.pending);
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

interface CreateOp<L extends LinkSink> { kind: 'create'; state: ConnState<L>; ref: number; body: CreateGroupBody; recv_at_us: number }
interface ChangeOp<L extends LinkSink> { kind: 'change'; state: ConnState<L>; ref: number; body: GroupChangeBody; recv_at_us: number }
type Op<L extends LinkSink> = { kind: 'send'; s: PendingSend<L> } | CreateOp<L> | ChangeOp<L>;

/** What a tick tells the world once its commit is durable, in order. */
type Effect<L extends LinkSink> =
  | { t: 'sent'; s: PendingSend<L>; msg: StoredMessage }
  | { t: 'fanout'; msg: StoredMessage; recipients: readonly number[]; recvAtUs: number }
  | { t: 'groupinfo'; state: ConnState<L>; ref: number; chat: ChatState }
  | { t: 'receipt'; r: Receipt };

function groupInfo(chat: ChatState, ref: number): GroupInfoBody {
  return {
    ref, chat_id: chat.chat_id, name: chat.name, created_by: chat.created_by,
    members: [...chat.members.values()].map((m) => ({ user: m.user, admin: m.admin })),
  };
}

interface Receipt {
  chat: ChatState;
  /** Whose watermark moved; 0 for a group's aggregate. */
  user: number;
  kind: number;
  upTo: number;
  /** Who hears it; null: every other member (1:1). */
  to: number[] | null;
}


function newMember(user: number, admin: boolean): MemberState {
  return { user, delivered_id: 0, delivered_seq: 0, read_id: 0, joined_seq: 0, admin };
}

function pushRecent(chat: CachedChat, id: number, seq: number, sender: number, kind: number): void {
  if (chat.recent.length === RECENT_PER_CHAT_MAX) chat.recent.shift();
  chat.recent.push({ id, seq, sender, kind });
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
  if (m.kind === MessageKind.System) {
    return {
      id: m.id, chat_id: m.chat_id, seq: m.seq, from_user: m.sender, client_msg_id: '',
      body: new Uint8Array(0), sent_at_ms: m.sent_at_ms, replay, system: decodeSystemEvent(m.body),
    };
  }
  return {
    id: m.id, chat_id: m.chat_id, seq: m.seq, from_user: m.sender, client_msg_id: m.client_msg_id,
    body: m.body, sent_at_ms: m.sent_at_ms, replay,
  };
}
