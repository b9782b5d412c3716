// The commit planner: turns a CommitBatch into the writes that persist it, one
// small function per kind of change (new chats, member changes, renames,
// messages, watermarks, last seen), and says what the chat cache becomes once
// those writes have landed. It reads nothing from the cluster: the members of
// every existing chat a commit touches are cached before planning starts
// (chatsToLoad).
//
// Nothing here reads before it writes: a member's row is written from the
// cached state folded with the batch, a chat_buckets row only for a bucket the
// cache has not seen, and 1:1 inboxes and group heads from the batch's own
// messages (fan-out on write for 1:1 chats, on read for groups).
import { isDirectChatId } from '../../common/chat-id';
import { laneOfId } from '../../common/ids';
import { type ChatState, type CommitBatch, type MemberChange, type StoredMessage, type WatermarkUpdate, type MemberState } from '../store';
import { asBuffer } from './cells';
import { type CachedChat, type ChatCache } from './chat-cache';
import { type ScyllaConfig } from './config';
import { bucketOfId, kComposite, kInt, kLong, kText } from './routing-keys';
import { type Write } from './sender';
import { type Statements } from './statements';

/** What planning reads: the statements, the cache, the keyspace's bucket width and the config's TTLs. */
export interface PlanContext {
  q: Statements;
  cache: ChatCache;
  bucketMs: number;
  config: ScyllaConfig;
}

/** What one commit does to one chat member, folded from the batch's ordered changes and watermarks. */
interface MemberPlan {
  chatId: string;
  kind: number;
  user: number;
  before: MemberState | null;
  after: MemberState | null;
  /** `after` is a new row (added, or removed and added back): written whole. */
  fresh: boolean;
}

/** One commit: its writes, and what the cache becomes once they have landed. */
export interface CommitPlan {
  writes: Write[];
  /** Chats this commit creates, by id. */
  newChats: Map<string, ChatState>;
  /** Membership of every chat whose members this commit touches (the cache's entries, or new ones). */
  chats: Map<string, CachedChat>;
  /** One plan per (chat, member) the commit touches, keyed chat \0 user. */
  members: Map<string, MemberPlan>;
  /** The chat_buckets rows this commit writes: chat \0 bucket -> bucket. */
  newBuckets: Map<string, number>;
  /** The newest message of each chat in the commit. */
  lastOfChat: Map<string, StoredMessage>;
}

export function newCommitPlan(batch: CommitBatch): CommitPlan {
  const newChats = new Map<string, ChatState>();
  for (const c of batch.new_chats) newChats.set(c.chat_id, c);
  return { writes: [], newChats, chats: new Map(), members: new Map(), newBuckets: new Map(), lastOfChat: new Map() };
}

/** Existing chats whose members this commit touches and the cache lacks: to read (one partition each) before planning. */
export function chatsToLoad(batch: CommitBatch, plan: CommitPlan, cache: ChatCache): string[] {
  const toLoad = new Set<string>();
  for (const ch of batch.member_changes) if (!plan.newChats.has(ch.chat_id) && !cache.members.has(ch.chat_id)) toLoad.add(ch.chat_id);
  for (const w of batch.watermarks) if (!plan.newChats.has(w.chat_id) && !cache.members.has(w.chat_id)) toLoad.add(w.chat_id);
  return [...toLoad];
}

/** Fold the batch into one plan per (chat, member), then list every write of the commit in plan.writes. */
export function planCommit(batch: CommitBatch, plan: CommitPlan, ctx: PlanContext): void {
  const { q, cache } = ctx;
  // Member changes (in order) and watermarks, folded into one plan per (chat, member).
  foldNewChats(batch.new_chats, plan, cache);
  foldMemberChanges(batch.member_changes, plan, cache);
  foldWatermarks(batch.watermarks, plan, cache);
  // The writes.
  const names = latestNames(batch.chat_renames);
  writeNewChats(batch.new_chats, names, q, plan.writes);
  writeRenames(names, q, plan.writes);
  for (const p of plan.members.values()) writeMember(p, q, plan.writes);
  writeMessages(batch.messages, plan, ctx);
  writeLastSeen(batch.last_seen, q, plan.writes);
}

/** The writes failed and some may have landed: forget what this commit touched, so it is read back, not guessed. */
export function forgetCommit(plan: CommitPlan, cache: ChatCache): void {
  for (const chatId of plan.chats.keys()) cache.members.delete(chatId);
  for (const chatId of plan.lastOfChat.keys()) cache.buckets.delete(chatId);
}

/** The writes landed: only now does the cache move. */
export function applyCommit(plan: CommitPlan, cache: ChatCache): void {
  for (const p of plan.members.values()) {
    const chat = plan.chats.get(p.chatId)!;
    if (p.after) chat.members.set(p.user, p.after);
    else chat.members.delete(p.user);
  }
  for (const [chatId, chat] of plan.chats) if (plan.newChats.has(chatId) || cache.members.has(chatId)) cache.rememberMembers(chatId, chat);
  for (const [key, bucket] of plan.newBuckets) cache.rememberBucket(key.slice(0, key.indexOf('\u0000')), bucket);
}

// ---------------------------------------------------------------- folding the batch into member plans

/** The membership of a chat the commit touches: the cache's entry, or an empty one for a chat this commit creates. */
function chatOf(plan: CommitPlan, cache: ChatCache, chatId: string): CachedChat {
  let c = plan.chats.get(chatId);
  if (c) return c;
  const nc = plan.newChats.get(chatId);
  c = cache.members.get(chatId) ?? (nc ? { kind: nc.kind, members: new Map() } : undefined);
  if (!c) throw new Error(`chat ${chatId} does not exist`);
  plan.chats.set(chatId, c);
  return c;
}

function memberPlan(plan: CommitPlan, cache: ChatCache, chatId: string, user: number): MemberPlan {
  const key = `${chatId}\u0000${user}`;
  let p = plan.members.get(key);
  if (!p) {
    const chat = chatOf(plan, cache, chatId);
    const before = chat.members.get(user) ?? null;
    p = { chatId, kind: chat.kind, user, before, after: before ? { ...before } : null, fresh: false };
    plan.members.set(key, p);
  }
  return p;
}

function foldNewChats(newChats: readonly ChatState[], plan: CommitPlan, cache: ChatCache): void {
  for (const chat of newChats) {
    for (const m of chat.members.values()) {
      const p = memberPlan(plan, cache, chat.chat_id, m.user);
      if (p.after === null) {
        p.after = { ...m };
        p.fresh = true;
      }
    }
  }
}

function foldMemberChanges(changes: readonly MemberChange[], plan: CommitPlan, cache: ChatCache): void {
  for (const ch of changes) {
    if ('remove' in ch) {
      const p = memberPlan(plan, cache, ch.chat_id, ch.remove);
      p.after = null;
      p.fresh = false;
    } else {
      const p = memberPlan(plan, cache, ch.chat_id, ch.member.user);
      if (p.after !== null) {
        p.after.admin = ch.member.admin; // an existing member: only the admin flag changes, watermarks never go back
      } else {
        p.after = { ...ch.member };
        p.fresh = true;
      }
    }
  }
}

function foldWatermarks(watermarks: readonly WatermarkUpdate[], plan: CommitPlan, cache: ChatCache): void {
  for (const w of watermarks) {
    const chat = chatOf(plan, cache, w.chat_id);
    const key = `${w.chat_id}\u0000${w.user}`;
    if (!plan.members.has(key) && !chat.members.has(w.user)) continue; // not a member: a watermark never makes one
    const p = memberPlan(plan, cache, w.chat_id, w.user);
    if (p.after === null) continue;
    if (w.delivered_id > p.after.delivered_id) p.after.delivered_id = w.delivered_id;
    if (w.delivered_seq > p.after.delivered_seq) p.after.delivered_seq = w.delivered_seq;
    if (w.read_id > p.after.read_id) p.after.read_id = w.read_id;
  }
}

// ---------------------------------------------------------------- the writes

/** The last name each renamed chat is given in this commit. */
function latestNames(renames: CommitBatch['chat_renames']): Map<string, string> {
  const names = new Map<string, string>();
  for (const r of renames) names.set(r.chat_id, r.name);
  return names;
}

/** A chats row per new chat, under its latest name; takes the new chats out of `names`. */
function writeNewChats(newChats: readonly ChatState[], names: Map<string, string>, q: Statements, writes: Write[]): void {
  for (const c of newChats) {
    writes.push([q.chatInsert, [c.chat_id, c.kind, names.get(c.chat_id) ?? c.name, c.created_by], kText(c.chat_id)]);
    names.delete(c.chat_id);
  }
}

/** Renames of chats that existed before this commit. */
function writeRenames(names: Map<string, string>, q: Statements, writes: Write[]): void {
  for (const [chatId, name] of names) writes.push([q.chatRename, [name, chatId], kText(chatId)]);
}

/** The writes that take one member from `before` to `after` (nothing if nothing changed). */
function writeMember(p: MemberPlan, q: Statements, writes: Write[]): void {
  const { before, after } = p;
  if (after === null) {
    if (before !== null) {
      writes.push([q.memberDelete, [p.chatId, p.user], kText(p.chatId)]);
      writes.push([q.userChatDelete, [p.user, p.chatId], kLong(p.user)]);
    }
    return;
  }
  if (p.fresh || before === null) {
    writes.push([q.memberInsert, [p.chatId, p.user, after.delivered_id, after.delivered_seq, after.read_id, after.joined_seq, after.admin], kText(p.chatId)]);
    writes.push([q.userChatInsert, [p.user, p.chatId, p.kind, after.delivered_id, after.delivered_seq], kLong(p.user)]);
    return;
  }
  const deliveredMoved = after.delivered_id !== before.delivered_id || after.delivered_seq !== before.delivered_seq;
  if (deliveredMoved || after.read_id !== before.read_id || after.admin !== before.admin) {
    writes.push([q.memberUpdate, [after.delivered_id, after.delivered_seq, after.read_id, after.admin, p.chatId, p.user], kText(p.chatId)]);
  }
  if (deliveredMoved) writes.push([q.userChatDelivered, [after.delivered_id, after.delivered_seq, p.user, p.chatId], kLong(p.user)]);
}

/**
 * Per message: its row, its client-id row (TTL), and a chat_buckets row the
 * first time the chat writes to a bucket. Then what the messages move: group
 * heads, 1:1 inboxes, and one id_high_water write per node.
 */
function writeMessages(messages: readonly StoredMessage[], plan: CommitPlan, ctx: PlanContext): void {
  const { q, bucketMs } = ctx;
  const buckets = ctx.cache.buckets;
  const writes = plan.writes;
  const lastFromOther = new Map<string, Map<number, StoredMessage>>(); // direct chats: member -> newest message not sent by them
  let highWater = 0;
  const clientTtl = ctx.config.client_id_ttl_seconds;
  for (const m of messages) {
    const bucket = bucketOfId(m.id, bucketMs);
    writes.push([q.messageInsert, [m.chat_id, bucket, m.id, m.seq, m.sender, m.client_msg_id, asBuffer(m.body), m.sent_at_ms, m.kind],
      kComposite(kText(m.chat_id), kLong(bucket))]);
    writes.push([q.clientIdInsert, [m.sender, m.client_msg_id, m.chat_id, m.id, clientTtl], kComposite(kLong(m.sender), kText(m.client_msg_id))]);
    const bucketKey = `${m.chat_id}\u0000${bucket}`;
    if (buckets.get(m.chat_id) !== bucket && !plan.newBuckets.has(bucketKey)) {
      plan.newBuckets.set(bucketKey, bucket);
      writes.push([q.bucketInsert, [m.chat_id, bucket], kText(m.chat_id)]);
    }
    const last = plan.lastOfChat.get(m.chat_id);
    if (!last || m.id > last.id) plan.lastOfChat.set(m.chat_id, m);
    if (isDirectChatId(m.chat_id)) noteForRecipient(lastFromOther, m);
    if (m.id > highWater) highWater = m.id;
  }
  writeHeads(plan.lastOfChat, q, writes);
  writeInboxes(lastFromOther, ctx.config.inbox_ttl_seconds, q, writes);
  // One id_high_water write per commit: the commit's newest id, in the row of that id's lane (the "node" column
  // holds a lane, 0..1,023), USING TIMESTAMP id. maxMessageId() takes the max over the rows, so one row per commit
  // suffices (a row per touched lane would cost a write per message once a tick spans many partitions), and
  // commits of different nodes mostly land in different rows.
  if (highWater > 0) writes.push([q.highWaterWrite, [highWater, highWater, laneOfId(highWater)], kInt(laneOfId(highWater))]);
}

/** A 1:1 message is the newest for its recipient (the member who did not send it) unless a newer one is. */
function noteForRecipient(lastFromOther: Map<string, Map<number, StoredMessage>>, m: StoredMessage): void {
  let byUser = lastFromOther.get(m.chat_id);
  if (!byUser) lastFromOther.set(m.chat_id, (byUser = new Map()));
  for (const u of directMembers(m.chat_id)) {
    if (u === m.sender) continue;
    const prev = byUser.get(u);
    if (!prev || m.id > prev.id) byUser.set(u, m);
  }
}

function writeHeads(lastOfChat: Map<string, StoredMessage>, q: Statements, writes: Write[]): void {
  for (const [chatId, m] of lastOfChat) {
    // Groups: the head, for pendingChats. Timestamp = id: the newest id wins whatever order writes land in.
    if (!isDirectChatId(chatId)) writes.push([q.headWrite, [m.id, m.id, m.seq, chatId], kText(chatId)]);
  }
}

/** 1:1 chats: the recipient's inbox cells (user_chats, TTL), which pendingChats reads. */
function writeInboxes(lastFromOther: Map<string, Map<number, StoredMessage>>, inboxTtl: number, q: Statements, writes: Write[]): void {
  for (const [chatId, byUser] of lastFromOther) {
    for (const [user, m] of byUser) writes.push([q.inboxTouch, [inboxTtl, m.id, m.seq, user, chatId], kLong(user)]);
  }
}

/** One last-seen write per user, the batch's last value for them. */
function writeLastSeen(lastSeenUpdates: CommitBatch['last_seen'], q: Statements, writes: Write[]): void {
  const lastSeen = new Map<number, number>();
  for (const u of lastSeenUpdates) lastSeen.set(u.user, u.last_seen_ms);
  for (const [user, ms] of lastSeen) writes.push([q.userLastSeen, [ms, user], kLong(user)]);
}

/** The two members of a 1:1 chat, from its id ("d.<low>.<high>", server/common/chat-id.ts). */
function directMembers(chatId: string): [number, number] {
  const dot = chatId.indexOf('.', 2);
  return [Number(chatId.slice(2, dot)), Number(chatId.slice(dot + 1))];
}
