// The group chats of one worker's world. Members are contiguous runs of the
// worker's users (group g = users start[g], start[g]+1, ... mod n), with the
// starts spread evenly, so each user is in about groupsPerUser groups and a
// member's position in a group is one subtraction: no per-user lists.
//
// Integrity for groups is tracked per (sender, recipient) pair inside each
// group: the order the system promises is per sender (one connection, FIFO),
// and every recipient must get every message once. So a group of s members
// owns s x s tracker streams (the diagonal stays empty): 24 bytes each, about
// 1.5 MB for a 256-member group.
//
// On the wire, a group message's header carries stream = g * 256 + sender
// position (GROUP_POSITIONS_MAX = the server's 256-member limit) and the
// group flag, so a recipient finds its tracker stream without a lookup.
import type { TrafficModel } from '../model/scenario';
import { intSampler, type Rng } from '../model/distribution';

/** Positions per group on the wire (the server's group_members_max). */
export const GROUP_POSITIONS_MAX = 256;

export class GroupTable {
  readonly count: number;
  readonly start: Int32Array;
  readonly size: Int32Array;
  /** Tracker stream of (sender position 0, recipient position 0) of each group. */
  readonly recvBase: Int32Array;
  /** Tracker streams used by all groups together. */
  readonly recvStreams: number;
  /** The server's chat id once created (null: not created, never sent to). */
  readonly chatIds: (string | null)[];
  readonly byChat = new Map<string, number>();
  /** Next sender position per group (round robin over its online members). */
  private readonly senderCursor: Int32Array;
  private groupCursor = 0;
  private readonly globalMembersOf: (readonly number[] | undefined)[] = [];

  /**
   * @param n users of this world
   * @param streamBase first tracker stream after the 1:1 streams
   */
  constructor(readonly n: number, t: TrafficModel, rng: Rng, readonly streamBase: number) {
    const wanted = t.groupsPerUser > 0 && n >= 2 ? t.groupsPerUser : 0;
    const sizeOf = intSampler(t.groupSize);
    const sizes: number[] = [];
    // Draw sizes until the member slots cover n * groupsPerUser (at least one group when groups are wanted).
    let slots = 0;
    while (wanted > 0 && (sizes.length === 0 || slots < n * wanted)) {
      const s = Math.max(2, Math.min(n, GROUP_POSITIONS_MAX, sizeOf(rng)));
      sizes.push(s);
      slots += s;
    }
    this.count = sizes.length;
    this.size = Int32Array.from(sizes);
    this.start = new Int32Array(this.count);
    this.recvBase = new Int32Array(this.count);
    let base = streamBase;
    for (let g = 0; g < this.count; g++) {
      this.start[g] = Math.floor((g * n) / this.count);
      this.recvBase[g] = base;
      base += sizes[g]! * sizes[g]!;
    }
    this.recvStreams = base - streamBase;
    this.chatIds = new Array(this.count).fill(null);
    this.senderCursor = new Int32Array(this.count);
  }

  /** Local user at position `pos` of group g. */
  member(g: number, pos: number): number {
    return (this.start[g]! + pos) % this.n;
  }

  /** Position of local user u in group g, or -1 if u is not a member. */
  positionOf(g: number, u: number): number {
    const pos = (u - this.start[g]! + this.n) % this.n;
    return pos < this.size[g]! ? pos : -1;
  }

  /** Tracker stream for messages from `senderPos` as seen by `recipientPos`. */
  recvStream(g: number, senderPos: number, recipientPos: number): number {
    return this.recvBase[g]! + senderPos * this.size[g]! + recipientPos;
  }

  /**
   * The tracker stream of a group message that arrived at local user r, from
   * its wire stream (group * 256 + sender position); -1 if r is not a member
   * of that group, is the sender itself, or the wire stream names no sender.
   */
  recvStreamAt(wireStream: number, r: number): number {
    const g = Math.floor(wireStream / GROUP_POSITIONS_MAX);
    const pos = wireStream - g * GROUP_POSITIONS_MAX;
    if (g >= this.count || pos >= this.size[g]!) return -1;
    const rp = this.positionOf(g, r);
    return rp < 0 || rp === pos ? -1 : this.recvStream(g, pos, rp);
  }

  /** The local recipient of a group tracker stream (stream >= streamBase). */
  recipientOfRecv(stream: number): number {
    const g = this.groupOfRecv(stream);
    return this.member(g, (stream - this.recvBase[g]!) % this.size[g]!);
  }

  /** Sender and group of a group tracker stream (diagnostics). */
  senderOfRecv(stream: number): { group: number; sender: number } {
    const g = this.groupOfRecv(stream);
    return { group: g, sender: this.member(g, Math.floor((stream - this.recvBase[g]!) / this.size[g]!)) };
  }

  /** The group owning a group tracker stream: a binary search, as the bases ascend. */
  private groupOfRecv(stream: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.recvBase[mid]! <= stream) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Group g's members as global users (`toGlobal` maps a local user), built once per group: e2ee's sender keys go to them. */
  globalMembers(g: number, toGlobal: (u: number) => number): readonly number[] {
    let m = this.globalMembersOf[g];
    if (!m) this.globalMembersOf[g] = m = Array.from({ length: this.size[g]! }, (_, pos) => toGlobal(this.member(g, pos)));
    return m;
  }

  setChatId(g: number, chatId: string): void {
    this.chatIds[g] = chatId;
    this.byChat.set(chatId, g);
  }

  /**
   * The next (group, sender position) to send from: groups round robin, and
   * within a group its members round robin, skipping groups not created and
   * members not online. null when no created group has an online member.
   */
  nextSend(isOnline: (u: number) => boolean): { group: number; pos: number } | null {
    for (let tries = 0; tries < this.count; tries++) {
      const g = this.groupCursor;
      this.groupCursor = g + 1 === this.count ? 0 : g + 1;
      if (this.chatIds[g] === null) continue;
      const s = this.size[g]!;
      for (let k = 0; k < s; k++) {
        const pos = this.senderCursor[g]!;
        this.senderCursor[g] = pos + 1 === s ? 0 : pos + 1;
        if (isOnline(this.member(g, pos))) return { group: g, pos };
      }
    }
    return null;
  }
}
