// Watermark writes. Moves are kept in memory and written every
// watermark_flush_ms (one row per chat member however many acks moved it), not
// per ack: a watermark lost in a crash only makes the server redeliver
// messages the client already has, which clients de-duplicate (delivery is
// at-least-once). This takes a store write per ack off the hot path.
import type { CommitBatch, MemberState } from '../store/store';

export class Watermarks {
  /**
   * Moved members by identity (a cached chat's MemberState), with their chat: no key string per mark.
   * A chat evicted and reloaded in between gives a second object for the same member: both rows are
   * written, and the store keeps the maximum of each watermark.
   */
  private readonly dirty = new Map<MemberState, string>();
  private flushDue = false;

  /** Remember that `member`'s watermarks in `chatId` moved (written with a later tick's commit). */
  mark(chatId: string, member: MemberState): void {
    this.dirty.set(member, chatId);
  }

  /** The flush timer fired: returns true when a tick should run to write the moves. */
  requestFlush(): boolean {
    if (this.dirty.size === 0) return false;
    this.flushDue = true;
    return true;
  }

  /** Stage the moves into this tick's batch if a flush is due. */
  takeIfDue(batch: CommitBatch): void {
    if (this.flushDue) this.take(batch);
  }

  /** Stage every pending move into `batch` now. */
  take(batch: CommitBatch): void {
    this.flushDue = false;
    for (const [m, chatId] of this.dirty) {
      batch.watermarks.push({ chat_id: chatId, user: m.user, delivered_id: m.delivered_id, delivered_seq: m.delivered_seq, read_id: m.read_id });
    }
    this.dirty.clear();
  }
}
