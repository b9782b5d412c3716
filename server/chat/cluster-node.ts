// A chat node's place in the cluster: it joins etcd under a lease, owns the
// partitions rendezvous hashing gives it, and is the engine's PartitionGate.
//   acquired  -> claim the partitions in the store with the fencing token, then
//                the engine rebuilds them from the store (ids above the stored
//                maximum, caches reload on use, online users drained again);
//   releasing -> the gate says no at once, the engine finishes its running
//                tick and writes its watermarks, then the keys are deleted;
//   lost      -> the lease is gone: the gate says no at once, nothing more is
//                written for those partitions (fencing refuses it anyway).
// Serving also ends at the lease's deadline (membership.servingUntil), checked
// on every frame.
import type { Etcd3 } from 'etcd3';
import type { ClusterSettings } from '../common/config';
import { checkEtcd, etcdClient } from '../cluster/etcd';
import { parseEndpoints } from '../cluster/keys';
import { ClusterMembership } from '../cluster/membership';
import { PartitionOwnership, rangeText } from '../cluster/ownership';
import type { MessageStore } from '../store/store';
import type { ChatEngine } from './engine';
import type { PartitionGate } from './partition-gate';
import type { LinkSink } from './wire';

export class ClusterNode implements PartitionGate {
  private readonly client: Etcd3;
  private readonly endpoints: string[];
  readonly membership: ClusterMembership;
  readonly ownership: PartitionOwnership;
  private claims: Promise<void> = Promise.resolve();
  /** Partitions being handed over: not served, keys not yet deleted. */
  private readonly releasing = new Set<number>();

  private engine!: ChatEngine<LinkSink & { id: string }>;
  private readonly advert = { grpc: '' };

  constructor(
    private readonly settings: ClusterSettings,
    private readonly store: MessageStore,
    private readonly log: (line: string) => void,
  ) {
    this.endpoints = parseEndpoints(settings.etcd);
    this.client = etcdClient(this.endpoints);
    this.membership = new ClusterMembership(this.client, {
      name: settings.node_name, grpc: this.advert, leaseSeconds: settings.lease_seconds, log,
    });
    this.ownership = new PartitionOwnership(this.client, this.membership, settings.node_name, {
      acquired: (ps, token) => this.acquired(ps, token),
      releasing: (ps) => this.releasingHook(ps),
      lost: (ps) => this.engine.partitionsLost(ps),
    }, log);
  }

  serves(partition: number): boolean {
    return this.ownership.owns(partition) && !this.releasing.has(partition) && Date.now() <= this.membership.servingUntil;
  }

  token(partition: number): number {
    return this.ownership.tokens.get(partition) ?? 0;
  }

  fenced(partition: number): void {
    this.ownership.fenced(partition);
  }

  get partitionsServed(): number {
    let n = 0;
    for (const p of this.ownership.tokens.keys()) if (!this.releasing.has(p)) n++;
    return n;
  }

  /** The engine this node gates (made after the gate: the engine takes it as an option). */
  attach(engine: ChatEngine<LinkSink & { id: string }>): void {
    this.engine = engine;
  }

  /** Where gateways dial this node, known once the gRPC port is bound. Checked before anything reaches etcd. */
  async checkEtcd(): Promise<void> {
    await checkEtcd(this.client, this.endpoints);
  }

  /** Announce `advertise` (host:port) and start taking partitions. */
  async start(advertise: string): Promise<void> {
    this.advert.grpc = advertise;
    await checkEtcd(this.client, this.endpoints);
    await this.membership.join();
    this.log(`joined the cluster as ${this.settings.node_name} (lease ${this.membership.leaseId}, ${this.settings.lease_seconds} s)`);
    await this.ownership.start();
  }

  private async acquired(partitions: number[], token: number): Promise<void> {
    for (const p of partitions) this.releasing.delete(p);
    // Claims one at a time (on CQL they are lightweight transactions on one fence partition: side by side they
    // would contend); the quiet period after them overlaps across the chunks being taken together.
    const claim = this.claims.then(() => this.store.claimPartitions(partitions, token));
    this.claims = claim.then(() => undefined, () => undefined);
    const claimed = await claim;
    if (claimed.length !== partitions.length) {
      const missing = partitions.filter((p) => !claimed.includes(p));
      throw new Error(`the store holds newer claims for ${rangeText(missing)}`);
    }
    const quiet = this.store.takeoverQuietMs ?? 0;
    if (quiet > 0) await new Promise((r) => setTimeout(r, quiet));
    await this.engine.partitionsAcquired(partitions);
  }

  private async releasingHook(partitions: number[]): Promise<void> {
    // Stays marked until the partition is acquired again: ownership drops its token right after this resolves.
    for (const p of partitions) this.releasing.add(p);
    await this.engine.partitionsReleasing(partitions);
  }

  /** Graceful stop: leave the member list, hand every partition over, give the lease back. */
  async stop(): Promise<void> {
    await this.membership.withdraw().catch((err: Error) => this.log(`withdraw failed: ${err.message}`));
    await this.ownership.releaseAll().catch((err: Error) => this.log(`release failed: ${err.message}`));
    await this.membership.leave();
    this.client.close();
  }
}
