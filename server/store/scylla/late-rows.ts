// Late rows: what makes a former owner's late message rows harmless on CQL
// (docs/design/005, "Late rows").
//
// A chat node paused (SIGSTOP, a VM freeze) with commit requests already handed
// to the driver sends them when it resumes, which can be long after its lease
// expired, a newer owner claimed the partition and the quiet period ended. An
// upserted cell of such a request loses to the newer owner's by timestamp; a
// `messages` row is new, and its seq would clash with the one the newer owner
// gives its next message ("seq 4 twice"). So a newer owner, on its first load of
// a chat under its token, writes at time T a range tombstone over the ids above
// the head it loaded, in every bucket such a row can be in, and marks the chat
// with its token (a static cell of chat_members, read with the members: later
// loads under the same token write nothing). A late row carries the timestamp
// its request was made with, before its writer paused, so before the claim and
// before T: the tombstone shadows it whenever it lands. The newer owner's own
// rows carry later timestamps (fenced commits take theirs from the same
// WriteClock before their fence check), so they stay visible.
//
// Cost: nothing per message; per chat and ownership change, one read cell and
// 1-2 tombstones + 1 marker write at LOCAL_QUORUM on the chat's first load.
import { type Client } from 'cassandra-driver';
import { SCYLLA_STORE_LIMITS } from '../../common/config-scylla';
import { ID_EPOCH_MS } from '../../common/ids';
import { bucketOfId } from './routing-keys';
import { type RequestOptions, type Statements } from './statements';

/** Client write timestamps in µs, strictly increasing within this store (Date.now() may step back). */
export class WriteClock {
  private last = 0;

  next(): number {
    const now = Date.now() * 1000;
    this.last = now > this.last ? now : this.last + 1;
    return this.last;
  }
}

/** The buckets a late row of a chat whose loaded head is `headId` can be in, oldest first. */
export function lateRowBuckets(headId: number, nowMs: number, bucketMs: number): number[] {
  const bucketOfTime = (ms: number) => Math.floor((ms - ID_EPOCH_MS) / bucketMs);
  // A late row was minted before its writer paused, after the head (its writer had loaded it): not before
  // the head's bucket, nor before the horizon; ids may run a little ahead of this clock (advancePast).
  const from = Math.max(headId > 0 ? bucketOfId(headId, bucketMs) : -Infinity, bucketOfTime(nowMs - SCYLLA_STORE_LIMITS.late_row_horizon_ms));
  const to = bucketOfTime(nowMs + 60_000);
  const out: number[] = [];
  for (let b = Math.max(0, from); b <= to; b++) out.push(b);
  return out;
}

export class LateRowFence {
  constructor(
    private readonly client: Client,
    private readonly q: Statements,
    private readonly write: RequestOptions['write'],
    private readonly clock: WriteClock,
    private readonly bucketMs: number,
  ) {}

  /** Tombstone every late row above `headId` of `chatId` and mark the chat as loaded under `token`. */
  async fence(chatId: string, headId: number, token: number): Promise<void> {
    const at = this.clock.next();
    const buckets = lateRowBuckets(headId, Math.floor(at / 1000), this.bucketMs);
    await Promise.all([
      ...buckets.map((b) => this.client.execute(this.q.lateRowsDelete, [at, chatId, b, headId], this.write)),
      this.client.execute(this.q.chatFenceMark, [at, token, chatId], this.write),
    ]);
  }
}
