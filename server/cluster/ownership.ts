// Partition ownership on top of membership. Every node computes the same
// assignment from the same member list (rendezvous hashing: a join or leave
// moves only the partitions the changed node wins or held), then:
//   - releases what it should no longer own: it stops serving those partitions
//     (the chat engine settles their in-flight work), then deletes their owner
//     keys — only after that can the new owner create them;
//   - acquires what it should own and nobody holds: one etcd transaction per
//     chunk creates the owner keys under its lease if they do not exist. The
//     transaction's revision is the ownership's fencing token: etcd revisions
//     only grow, so a later owner always holds a higher token. The new owner
//     claims the partitions in the store with that token before serving them.
// A partition whose key another node still holds is retried when that key is
// deleted (watch) — by its holder's release or by its lease running out.
import type { Etcd3, Watcher } from 'etcd3';
import { PARTITIONS, partitionsOf } from '../common/partitions';
import { ownerKey, OWNERS_PREFIX, partitionOfOwnerKey } from './keys';
import type { ClusterMembership } from './membership';

/** etcd's default --max-txn-ops is 128: one compare and one put per partition. */
const PARTITIONS_PER_TXN = 64;

export interface OwnershipHooks {
  /** Claim in the store and start serving. Throws to give the partitions back. */
  acquired(partitions: number[], token: number): Promise<void>;
  /** Stop serving and settle what is in flight; the owner keys are deleted once this resolves. */
  releasing(partitions: number[]): Promise<void>;
  /** The lease is gone: stop serving these at once (nothing may be settled: another node may already own them). */
  lost(partitions: number[]): void;
}

export interface OwnershipStats {
  acquisitions: number;
  releases: number;
  losses: number;
  txns: number;
}

export class PartitionOwnership {
  /** partition -> fencing token, for the partitions this node serves. */
  readonly tokens = new Map<number, number>();
  readonly stats: OwnershipStats = { acquisitions: 0, releases: 0, losses: 0, txns: 0 };
  private watcher: Watcher | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly client: Etcd3,
    private readonly member: ClusterMembership,
    private readonly name: string,
    private readonly hooks: OwnershipHooks,
    private readonly log: (line: string) => void,
  ) {}

  owns(partition: number): boolean {
    return this.tokens.has(partition);
  }

  async start(): Promise<void> {
    this.member.on('nodes', () => this.reconcileSoon());
    this.member.on('lost', () => this.dropAll());
    const watcher = await this.client.watch().prefix(OWNERS_PREFIX).create();
    this.watcher = watcher;
    // A key deleted: maybe ours to take now. A key put by someone else for a partition we serve: we lost it.
    watcher.on('delete', () => this.reconcileSoon());
    watcher.on('put', (kv) => {
      const p = partitionOfOwnerKey(kv.key.toString());
      // (Our own puts echo back too, the "claiming" one possibly after we already serve: they are ours.)
      if (p !== null && this.tokens.has(p) && nodeOfValue(kv.value.toString()) !== this.name) this.dropSome([p], 'another node holds its key');
    });
    watcher.on('connected', () => this.reconcileSoon());
    // Through the one serialized path: a watch or member event during this first pass must not start a
    // second reconcile beside it (both would acquire the same partitions). A failed pass is retried.
    this.reconcileSoon();
    while (this.running) await this.running;
  }

  /** Run reconcile now, or once more after the one running. */
  reconcileSoon(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.reconcile()
      .catch((err: Error) => {
        this.log(`ownership: reconcile failed: ${err.message}`);
        this.retryLater();
      })
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.reconcileSoon();
        }
      });
  }

  private retryLater(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.reconcileSoon();
    }, 500);
  }

  private async reconcile(): Promise<void> {
    if (this.closed || !this.member.leaseId || this.member.servingUntil === 0) return;
    const nodes = this.member.nodes;
    if (!nodes.includes(this.name)) return; // not announced (yet, or any more)
    const desired = new Set(partitionsOf(this.name, nodes));
    const release = [...this.tokens.keys()].filter((p) => !desired.has(p));
    if (release.length > 0) await this.release(release);
    const want = [...desired].filter((p) => !this.tokens.has(p));
    if (want.length > 0) await this.acquire(want);
  }

  private async release(partitions: number[]): Promise<void> {
    await this.hooks.releasing(partitions);
    for (const p of partitions) this.tokens.delete(p);
    this.stats.releases += partitions.length;
    await this.deleteOwnKeys(partitions);
    this.log(`ownership: released ${partitions.length} partitions (${rangeText(partitions)})`);
  }

  private async acquire(partitions: number[]): Promise<void> {
    const leaseId = this.member.leaseId;
    const won: { partitions: number[]; token: number }[] = [];
    for (let i = 0; i < partitions.length; i += PARTITIONS_PER_TXN) {
      const chunk = partitions.slice(i, i + PARTITIONS_PER_TXN);
      const got = await this.tryCreate(chunk, leaseId);
      if (got) {
        won.push({ partitions: chunk, token: got });
        continue;
      }
      // Someone holds at least one: take the free ones one by one (rare: after a failover or during a handover).
      for (const p of chunk) {
        const token = await this.tryCreate([p], leaseId);
        if (token) won.push({ partitions: [p], token });
      }
    }
    // The chunks' claims run side by side: a store's takeover quiet period (CQL: 3 s) is paid once, not per chunk.
    await Promise.all(won.map(async (w) => {
      try {
        await this.hooks.acquired(w.partitions, w.token);
      } catch (err) {
        this.log(`ownership: could not take ${rangeText(w.partitions)}: ${(err as Error).message}; giving them back`);
        await this.deleteOwnKeys(w.partitions);
        this.retryLater();
        w.partitions = [];
        return;
      }
      for (const p of w.partitions) this.tokens.set(p, w.token);
      this.stats.acquisitions += w.partitions.length;
      await this.markServing(w.partitions, leaseId);
    }));
    const taken = won.flatMap((w) => w.partitions);
    if (taken.length > 0) this.log(`ownership: acquired ${taken.length} partitions (${rangeText(taken)}) token ${won[0]!.token}${won.length > 1 ? '+' : ''}`);
  }

  /**
   * The claim is done (store claimed, state rebuilt): the owner keys now name this node, and gateways
   * send it the partitions' frames. The keys' create revision (the fencing token) does not change.
   */
  private async markServing(partitions: number[], leaseId: string): Promise<void> {
    for (let i = 0; i < partitions.length; i += PARTITIONS_PER_TXN) {
      const chunk = partitions.slice(i, i + PARTITIONS_PER_TXN);
      this.stats.txns++;
      await this.client.if(ownerKey(chunk[0]!), 'Lease', '==', leaseId)
        .then(...chunk.map((p) => this.client.put(ownerKey(p)).value(this.name).lease(leaseId))).commit();
    }
  }

  /** Delete the owner keys that are still ours (value = our name), a chunk per transaction. */
  private async deleteOwnKeys(partitions: number[]): Promise<void> {
    for (let i = 0; i < partitions.length; i += PARTITIONS_PER_TXN) {
      const chunk = partitions.slice(i, i + PARTITIONS_PER_TXN);
      this.stats.txns++;
      // Ours: created under our lease (claiming or serving alike).
      let txn = this.client.if(ownerKey(chunk[0]!), 'Lease', '==', this.member.leaseId);
      for (const p of chunk.slice(1)) txn = txn.and(ownerKey(p), 'Lease', '==', this.member.leaseId);
      const res = await txn.then(...chunk.map((p) => this.client.delete().key(ownerKey(p)))).commit();
      if (res.succeeded) continue;
      for (const p of chunk) {
        this.stats.txns++;
        await this.client.if(ownerKey(p), 'Lease', '==', this.member.leaseId).then(this.client.delete().key(ownerKey(p))).commit();
      }
    }
  }

  /**
   * Create the owner keys of `chunk` under our lease if none exists. Returns the fencing token, or 0 when
   * any was held. For one partition, a key that is already ours under this very lease is adopted with
   * its creation revision as the token: a create whose answer was lost (an etcd member died or the
   * leader changed after it committed; the client then retries) would otherwise hold the partition
   * for nobody until our lease ends.
   */
  private async tryCreate(chunk: number[], leaseId: string): Promise<number> {
    this.stats.txns++;
    let txn = this.client.if(ownerKey(chunk[0]!), 'Create', '==', 0);
    for (const p of chunk.slice(1)) txn = txn.and(ownerKey(p), 'Create', '==', 0);
    // Created as "claiming": gateways hold the partition's frames until the value says we serve it (markServing).
    let body = txn.then(...chunk.map((p) => this.client.put(ownerKey(p)).value(claimingValue(this.name)).lease(leaseId)));
    if (chunk.length === 1) body = body.else(this.client.get(ownerKey(chunk[0]!)));
    const res = await body.commit();
    if (res.succeeded) return Number(res.header.revision);
    // A key we created whose answer was lost (a retried call): ours, with its creation revision as the token.
    const kv = chunk.length === 1 ? res.responses[0]?.response_range?.kvs[0] : undefined;
    if (kv && nodeOfValue(kv.value.toString()) === this.name && String(kv.lease) === leaseId) return Number(kv.create_revision);
    return 0;
  }

  private dropSome(partitions: number[], why: string): void {
    const held = partitions.filter((p) => this.tokens.has(p));
    if (held.length === 0) return;
    for (const p of held) this.tokens.delete(p);
    this.stats.losses += held.length;
    this.hooks.lost(held);
    this.log(`ownership: dropped ${held.length} partitions (${rangeText(held)}): ${why}`);
  }

  /** The lease is gone. */
  private dropAll(): void {
    this.dropSome([...this.tokens.keys()], 'lease lost');
  }

  /** A fenced commit: the store says another node claimed this partition since. */
  fenced(partition: number): void {
    this.dropSome([partition], 'the store refused a commit under our token (fenced)');
    this.reconcileSoon();
  }

  /** Graceful stop: hand every partition over (after the node key is withdrawn, others are waiting for them). */
  async releaseAll(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.running?.catch(() => {});
    const all = [...this.tokens.keys()];
    if (all.length > 0) await this.release(all);
    await this.watcher?.cancel().catch(() => {});
  }
}

/** "0-9,12,40-41" (log lines stay short however many partitions move). */
export function rangeText(partitions: readonly number[]): string {
  const sorted = [...partitions].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  const text = parts.join(',');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

export { PARTITIONS };

const CLAIMING_SUFFIX = '#claiming';

/** An owner key's value while its node is still claiming (not serving yet). */
export function claimingValue(node: string): string {
  return `${node}${CLAIMING_SUFFIX}`;
}

/** The node an owner key names, claiming or serving. */
export function nodeOfValue(value: string): string {
  return value.endsWith(CLAIMING_SUFFIX) ? value.slice(0, -CLAIMING_SUFFIX.length) : value;
}

/** The node an owner key names, or null while that node is still claiming it. */
export function ownerOfValue(value: string): string | null {
  return value.endsWith(CLAIMING_SUFFIX) ? null : value;
}
