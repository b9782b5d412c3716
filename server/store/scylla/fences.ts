// Partition fencing on CQL (store.ts: claimPartitions, CommitBatch.fences).
// The table: migrations/002-partition-fences.ts; the decision and its window:
// docs/design/005-scylla-store.md ("Fencing").
//
// Claim: per chunk of partitions, one LOCAL_SERIAL read of their rows, then one
// conditional batch (one Paxos round: all rows live in one CQL partition):
// INSERT ... IF NOT EXISTS for a partition never claimed, UPDATE ... IF token = <seen>
// for one claimed with a lower token. Lost races re-read and retry (bounded).
// A claim's Paxos commit is applied at LOCAL_QUORUM before the claim returns.
//
// Check, per commit that carries fences: one LOCAL_QUORUM read of the touched
// partitions' rows (`partition IN ?`, one CQL partition), issued beside the
// commit's membership reads, before any write. LOCAL_QUORUM read + LOCAL_QUORUM
// Paxos commit overlap in a replica, so a claim that has returned is seen. Not
// LOCAL_SERIAL: a serial read is a Paxos round and every commit of every node
// would contend on the one partition. Not cached: a cached "still mine" is a
// lease, which is exactly what a fencing token must not depend on.
//
// The window that remains (CQL has no transaction across the check and the
// writes, unlike SQLite's IMMEDIATE transaction): a commit whose check was
// issued before a newer owner's claim completed may still land writes after
// it. The gate below bounds that: writes are handed to the driver only within
// fence_check_valid_ms (monotonic) of the check's issue, else the commit checks
// again first; and the driver retries none of them past that time. So a paused
// owner that resumes after its lease is gone hands nothing new to the driver;
// what it can still land are the writes it handed over before the pause (in
// the driver's write queue, the kernel's socket buffer, or a coordinator).
// Those carry timestamps from before the pause: upserts lose to the newer
// owner's, and its message rows are shadowed by the tombstone the newer owner
// writes on its first load of the chat (late-rows.ts).
import { policies, types, type Client } from 'cassandra-driver';
import { SCYLLA_STORE_LIMITS } from '../../common/config-scylla';
import { FencedError, type PartitionFence } from '../store';
import { num } from './cells';
import { type Statements } from './statements';

/** Every partition's row lives in this CQL partition (migrations/002-partition-fences.ts). */
const FENCE_GROUP = 0;

const CHECK_READ = { prepare: true, isIdempotent: true, consistency: types.consistencies.localQuorum } as const;
const CLAIM_READ = { prepare: true, isIdempotent: true, consistency: types.consistencies.localSerial } as const;
const CLAIM_CAS = {
  prepare: true, isIdempotent: false, consistency: types.consistencies.localQuorum, serialConsistency: types.consistencies.localSerial,
} as const;

export class PartitionFences {
  constructor(
    private readonly client: Client,
    private readonly q: Statements,
  ) {}

  /** Claim `partitions` under `token`; returns those claimed (a partition already claimed higher is left out). */
  async claim(partitions: readonly number[], token: number): Promise<number[]> {
    const unique = [...new Set(partitions)];
    const claimed: number[] = [];
    const chunk = SCYLLA_STORE_LIMITS.fence_claim_chunk_partitions;
    for (let i = 0; i < unique.length; i += chunk) claimed.push(...(await this.claimChunk(unique.slice(i, i + chunk), token)));
    const order = new Map(partitions.map((p, i) => [p, i]));
    return claimed.sort((a, b) => order.get(a)! - order.get(b)!);
  }

  private async claimChunk(partitions: number[], token: number): Promise<number[]> {
    let lastError = 'a concurrent claim changed the rows each time';
    for (let attempt = 0; attempt < SCYLLA_STORE_LIMITS.fence_claim_attempts_max; attempt++) {
      // LOCAL_SERIAL: finishes any claim in flight (ours from a timed-out round included) before we look.
      const current = await this.tokens(partitions, CLAIM_READ);
      const already: number[] = [];
      const writes: { query: string; params: unknown[] }[] = [];
      const writing: number[] = [];
      for (const p of partitions) {
        const cur = current.get(p);
        if (cur === undefined) {
          writes.push({ query: this.q.fenceInsert, params: [FENCE_GROUP, p, token] });
          writing.push(p);
        } else if (cur < token) {
          writes.push({ query: this.q.fenceRaise, params: [token, FENCE_GROUP, p, cur] });
          writing.push(p);
        } else if (cur === token) {
          already.push(p); // claimed before under this very token (a retried claim)
        } // cur > token: the partition moved on again; left out
      }
      if (writes.length === 0) return already;
      try {
        const rs = await this.client.batch(writes, CLAIM_CAS);
        if (rs.first()?.['[applied]'] === true) return [...already, ...writing];
      } catch (err) {
        // A CAS timeout's outcome is unknown: the next LOCAL_SERIAL read settles it.
        lastError = (err as Error).message;
      }
    }
    throw new Error(`claim of ${partitions.length} partitions under token ${token}: not settled in ` +
      `${SCYLLA_STORE_LIMITS.fence_claim_attempts_max} rounds (${lastError})`);
  }

  /**
   * The fence check of one commit: resolves with a gate once the fences hold,
   * rejects with FencedError (nothing written yet) when one does not.
   */
  async check(fences: readonly PartitionFence[]): Promise<FenceGate> {
    const gate = new FenceGate(this, lowestTokens(fences));
    await gate.recheck();
    return gate;
  }

  /** partition -> claimed token, for the rows that exist. */
  async tokens(partitions: readonly number[], options: typeof CHECK_READ | typeof CLAIM_READ = CHECK_READ): Promise<Map<number, number>> {
    const rs = await this.client.execute(this.q.fencesGet, [FENCE_GROUP, partitions], options);
    const out = new Map<number, number>();
    for (const r of rs.rows) out.set(r.partition as number, num(r.fence_token));
    return out;
  }
}

/** The strictest token per partition (a batch naming a partition twice is checked against its lower token). */
function lowestTokens(fences: readonly PartitionFence[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const f of fences) {
    const t = out.get(f.partition);
    if (t === undefined || f.token < t) out.set(f.partition, f.token);
  }
  return out;
}

/**
 * A commit's passed fence check and how long it stays good: writes go to the
 * driver only while it is fresh (fence_check_valid_ms since the check was
 * issued); a stale gate checks again first (one read shared by every waiting
 * write). `retry` refuses driver retries once stale.
 */
export class FenceGate {
  private checkedAtMs = -Infinity;
  private pending: Promise<void> | null = null;
  /** Writes handed to the driver (for the error when a re-check finds the partition fenced mid-commit). */
  sent = 0;
  readonly retry: policies.retry.RetryPolicy;

  constructor(
    private readonly fences: PartitionFences,
    private readonly tokens: Map<number, number>,
  ) {
    this.retry = new FenceRetryPolicy(() => this.fresh());
  }

  fresh(): boolean {
    return performance.now() - this.checkedAtMs < SCYLLA_STORE_LIMITS.fence_check_valid_ms;
  }

  /** Before handing a write to the driver: null when fresh (the steady path), else the shared re-check. */
  beforeWrite(): Promise<void> | null {
    if (this.fresh()) {
      this.sent++;
      return null;
    }
    this.pending ??= this.recheck().finally(() => (this.pending = null));
    return this.pending.then(() => {
      this.sent++;
    });
  }

  async recheck(): Promise<void> {
    const issuedAt = performance.now(); // the claim we must see completed before this instant at the latest
    const current = await this.fences.tokens([...this.tokens.keys()]);
    for (const [partition, token] of this.tokens) {
      const cur = current.get(partition);
      if (cur === undefined || cur <= token) continue;
      if (this.sent === 0) throw new FencedError(partition, token, cur);
      // Some writes already went: not a FencedError (whose contract is "nothing stored"); the commit fails unacknowledged.
      throw new Error(`partition ${partition} fenced mid-commit (claimed with token ${cur}, this writer holds ${token}) after ${this.sent} requests were sent`);
    }
    this.checkedAtMs = issuedAt;
  }
}

/** The driver's default decisions while the gate is fresh; no retry (rethrow) once it is stale. */
class FenceRetryPolicy extends policies.retry.RetryPolicy {
  constructor(private readonly fresh: () => boolean) {
    super();
  }
  override onReadTimeout(...a: Parameters<policies.retry.RetryPolicy['onReadTimeout']>) {
    return this.fresh() ? super.onReadTimeout(...a) : this.rethrowResult();
  }
  override onWriteTimeout(...a: Parameters<policies.retry.RetryPolicy['onWriteTimeout']>) {
    return this.fresh() ? super.onWriteTimeout(...a) : this.rethrowResult();
  }
  override onUnavailable(...a: Parameters<policies.retry.RetryPolicy['onUnavailable']>) {
    return this.fresh() ? super.onUnavailable(...a) : this.rethrowResult();
  }
  override onRequestError(...a: Parameters<policies.retry.RetryPolicy['onRequestError']>) {
    return this.fresh() ? super.onRequestError(...a) : this.rethrowResult();
  }
}
