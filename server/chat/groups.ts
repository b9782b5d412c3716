// Groups: creation and membership changes, each stored as a system event in
// the group's own message sequence, so every member sees changes in order with
// the messages around them. The creator is admin; admins add, remove, promote
// and demote; anyone leaves; the last admin leaving hands admin to the
// longest-standing member. A member added after a message does not get it; a
// removed member gets nothing sent after its removal.
import { WindowCounts } from '../../lib/window-counts';
import { partitionOfUser } from '../common/partitions';
import { invariant, InvariantError } from '../../lib/invariant';
import { ErrorCode, ProtocolError } from '../common/errors';
import { encodeSystemEvent, GroupChangeKind } from '../common/protocol';
import { isUserId } from '../common/validation';
import { ChatKind, MessageKind, type MemberState, type StoredMessage } from '../store/store';
import { cachedChat, newMember, type CachedChat } from './chat-state';
import { appendMessage, type EngineContext, type Tick } from './context';
import type { ChangeOp, CreateOp } from './inbound';
import { aggregateReceipts } from './receipts';
import type { GatewayLinkRef } from './routes';

/** What one membership change did: who changed, and who hears it besides the remaining members. */
interface ChangeOutcome {
  changed: number[];
  /** Users who are no longer members but must hear the event (the removed, the one who left). */
  alsoTell: number[];
  /** The members who left or were removed, as they were (their delivered watermark: what a drain still owes them). */
  gone: MemberState[];
}

const HOUR_MS = 3600_000;

export class Groups<L extends GatewayLinkRef> {
  /**
   * Per-user hourly counts of groups created and members added. Kept by the node that handles the frame: a
   * creation runs on the creator's partition owner (exact per user in the multi-node topology); an add runs on
   * the group's owner, so there the bound holds per chat node (docs/design/015-abuse-and-authorization.md).
   */
  private readonly created: WindowCounts;
  private readonly added: WindowCounts;

  constructor(
    private readonly ctx: EngineContext<L>,
    /**
     * A member left or was removed, with its delivered watermark then and the event that ends its
     * membership: a drain that is running for it still owes it the chat's messages up to that event.
     */
    private readonly onMemberGone: (user: number, chatId: string, deliveredId: number, lastVisibleId: number) => void,
  ) {
    this.created = new WindowCounts(HOUR_MS, ctx.limits.user_rate_entries_max);
    this.added = new WindowCounts(HOUR_MS, ctx.limits.user_rate_entries_max);
  }

  /** Counts `groups` creations and `members` adds for `user` this hour, or refuses (nothing counted) past a limit. */
  private takeQuota(user: number, groups: number, members: number, nowMs: number): void {
    const l = this.ctx.limits;
    if (groups > 0 && this.created.count(user, nowMs) + groups > l.user_groups_created_per_hour_max) {
      throw new ProtocolError(ErrorCode.GROUP_RATE_LIMITED, `user_groups_created_per_hour_max=${l.user_groups_created_per_hour_max} groups created this hour`);
    }
    if (members > 0 && !this.added.take(user, members, l.user_group_members_added_per_hour_max, nowMs)) {
      throw new ProtocolError(ErrorCode.GROUP_RATE_LIMITED,
        `user_group_members_added_per_hour_max=${l.user_group_members_added_per_hour_max} members added this hour`);
    }
    if (groups > 0) this.created.take(user, groups, l.user_groups_created_per_hour_max, nowMs);
  }

  async create(op: CreateOp<L>, tick: Tick<L>): Promise<void> {
    const { ctx } = this;
    const creator = op.state.user;
    const name = op.body.name ?? '';
    const members = [...new Set(op.body.members)].filter((u) => u !== creator);
    invariant(members.length + 1 <= ctx.limits.group_members_max, 'group size is validated at the edge');
    this.checkUsersExist(members);
    this.takeQuota(creator, 1, members.length, tick.nowMs);
    // Minted in the creator's partition, which this node owns: so is the group (partitionOf).
    const chatId = `g.${ctx.ids.next(partitionOfUser(creator))}`;
    const chat = cachedChat({
      chat_id: chatId, kind: ChatKind.Group, last_id: 0, last_seq: 0, name, created_by: creator,
      members: new Map([[creator, newMember(creator, true)], ...members.map((u) => [u, newMember(u, false)] as [number, MemberState])]),
    });
    ctx.chats.add(chat);
    tick.batch.new_chats.push({ chat_id: chatId, kind: ChatKind.Group, last_id: 0, last_seq: 0, members: chat.members, name, created_by: creator });
    const event = this.systemEvent(tick, chat, creator, GroupChangeKind.CREATED, members, name);
    tick.afterCommit.push({ t: 'message', msg: event, users: members, recvAtUs: op.recv_at_us });
    tick.afterCommit.push({ t: 'group_info', to: op.state, ref: op.ref, chat });
  }

  async change(op: ChangeOp<L>, tick: Tick<L>): Promise<void> {
    const actor = op.state.user;
    const chat = await this.ctx.chats.memberChat(op.body.chat_id, actor, ChatKind.Group);
    const kind = op.body.kind;
    if (kind !== GroupChangeKind.LEAVE && !chat.members.get(actor)!.admin) throw new ProtocolError(ErrorCode.NOT_ADMIN, 'only group admins can do that');
    const users = [...new Set(op.body.users)];
    const outcome = this.apply(tick, chat, actor, kind, users, op.body.name ?? '');
    if (outcome.changed.length > 0 || kind === GroupChangeKind.RENAME) {
      const event = this.systemEvent(tick, chat, actor, kind, outcome.changed, kind === GroupChangeKind.RENAME ? chat.name : '');
      for (const m of outcome.gone) this.onMemberGone(m.user, chat.chat_id, m.delivered_id, event.id);
      const recipients = [...chat.members.keys()].filter((u) => u !== actor).concat(outcome.alsoTell.filter((u) => u !== actor));
      tick.afterCommit.push({ t: 'message', msg: event, users: recipients, recvAtUs: op.recv_at_us });
      if (kind === GroupChangeKind.LEAVE) this.handOverAdmin(tick, chat, op.recv_at_us);
      if (kind === GroupChangeKind.REMOVE || kind === GroupChangeKind.LEAVE) tick.afterCommit.push(...(await aggregateReceipts(this.ctx, chat)));
    }
    // The one who left gets the group as it now is to them: no members.
    const snapshot = kind === GroupChangeKind.LEAVE ? { ...chat, members: new Map<number, MemberState>() } : chat;
    tick.afterCommit.push({ t: 'group_info', to: op.state, ref: op.ref, chat: snapshot });
  }

  private apply(tick: Tick<L>, chat: CachedChat, actor: number, kind: number, users: number[], name: string): ChangeOutcome {
    switch (kind) {
      case GroupChangeKind.ADD: return { changed: this.add(tick, chat, actor, users), alsoTell: [], gone: [] };
      case GroupChangeKind.REMOVE: return this.remove(tick, chat, actor, users);
      case GroupChangeKind.PROMOTE: return { changed: this.setAdmin(tick, chat, users, true), alsoTell: [], gone: [] };
      case GroupChangeKind.DEMOTE: return { changed: this.setAdmin(tick, chat, users, false), alsoTell: [], gone: [] };
      case GroupChangeKind.LEAVE: return this.leave(tick, chat, actor);
      case GroupChangeKind.RENAME: return this.rename(tick, chat, name);
    }
    throw new InvariantError(`invariant broken: group change kinds are validated at the edge (got ${kind})`);
  }

  private add(tick: Tick<L>, chat: CachedChat, actor: number, users: number[]): number[] {
    const max = this.ctx.limits.group_members_max;
    const added = users.filter((u) => !chat.members.has(u));
    if (chat.members.size + added.length > max) {
      throw new ProtocolError(ErrorCode.GROUP_FULL, `${chat.members.size + added.length} members exceed group_members_max=${max}`);
    }
    this.checkUsersExist(added);
    this.takeQuota(actor, 0, added.length, tick.nowMs);
    // New members start at the add event: they see it and everything after, nothing before.
    for (const u of added) {
      const m: MemberState = { user: u, delivered_id: chat.last_id, delivered_seq: chat.last_seq, read_id: chat.last_id, joined_seq: chat.last_seq, admin: false };
      chat.members.set(u, m);
      tick.batch.member_changes.push({ chat_id: chat.chat_id, member: { ...m } });
    }
    return added;
  }

  private remove(tick: Tick<L>, chat: CachedChat, actor: number, users: number[]): ChangeOutcome {
    if (users.includes(actor)) throw new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'to remove yourself, leave the group');
    const removed = users.filter((u) => chat.members.has(u));
    const gone = removed.map((u) => this.dropMember(tick, chat, u));
    return { changed: removed, alsoTell: removed, gone }; // the removed learn they are out
  }

  private leave(tick: Tick<L>, chat: CachedChat, actor: number): ChangeOutcome {
    const gone = this.dropMember(tick, chat, actor);
    return { changed: [actor], alsoTell: [actor], gone: [gone] };
  }

  private dropMember(tick: Tick<L>, chat: CachedChat, user: number): MemberState {
    const member = chat.members.get(user)!;
    chat.members.delete(user);
    tick.batch.member_changes.push({ chat_id: chat.chat_id, remove: user });
    return member;
  }

  private setAdmin(tick: Tick<L>, chat: CachedChat, users: number[], admin: boolean): number[] {
    const changed = users.filter((u) => chat.members.has(u) && chat.members.get(u)!.admin !== admin);
    if (!admin) {
      const adminsLeft = [...chat.members.values()].filter((m) => m.admin && !changed.includes(m.user)).length;
      if (adminsLeft === 0) throw new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'a group keeps at least one admin');
    }
    for (const u of changed) {
      const m = chat.members.get(u)!;
      m.admin = admin;
      tick.batch.member_changes.push({ chat_id: chat.chat_id, member: { ...m } });
    }
    return changed;
  }

  private rename(tick: Tick<L>, chat: CachedChat, name: string): ChangeOutcome {
    chat.name = name;
    tick.batch.chat_renames.push({ chat_id: chat.chat_id, name });
    return { changed: [], alsoTell: [], gone: [] };
  }

  /** The last admin left: the longest-standing member takes over, as a system event of its own. */
  private handOverAdmin(tick: Tick<L>, chat: CachedChat, recvAtUs: number): void {
    if (chat.members.size === 0 || [...chat.members.values()].some((m) => m.admin)) return;
    const heir = [...chat.members.values()].sort((a, b) => a.joined_seq - b.joined_seq || a.user - b.user)[0]!;
    heir.admin = true;
    tick.batch.member_changes.push({ chat_id: chat.chat_id, member: { ...heir } });
    const promoted = this.systemEvent(tick, chat, 0, GroupChangeKind.PROMOTE, [heir.user], '');
    tick.afterCommit.push({ t: 'message', msg: promoted, users: [...chat.members.keys()], recvAtUs });
  }

  private systemEvent(tick: Tick<L>, chat: CachedChat, actor: number, kind: number, users: number[], name: string): StoredMessage {
    const body = encodeSystemEvent({ kind, actor, users, name });
    // The client id only has to be unique per sender: the id is.
    return appendMessage(this.ctx, tick, chat, actor, `sys.${chat.last_seq + 1}.${chat.chat_id}`, body, MessageKind.System);
  }

  private checkUsersExist(users: number[]): void {
    for (const u of users) {
      if (!isUserId(u) || !this.ctx.users.has(u)) throw new ProtocolError(ErrorCode.UNKNOWN_USER, `user ${u} does not exist`);
    }
  }
}
