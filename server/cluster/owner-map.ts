// The read side of ownership, for gateways: which node serves each partition
// and where that node listens, from two etcd watches. A gateway routes each
// client frame with it, and holds frames for a partition that has no owner
// right now (it is moving) until the owner key appears again.
import { EventEmitter } from 'node:events';
import type { Etcd3, Watcher } from 'etcd3';
import { PARTITIONS } from '../common/partitions';
import { NODES_PREFIX, OWNERS_PREFIX, parseNodeInfo, partitionOfOwnerKey, type NodeInfo } from './keys';
import { ownerOfValue } from './ownership';

export declare interface OwnerMap {
  /** Nodes joined or left (names, sorted). */
  on(event: 'nodes', handler: (nodes: NodeInfo[]) => void): this;
  /** A partition's owner changed (null: none right now). */
  on(event: 'owner', handler: (partition: number, node: string | null, previous: string | null) => void): this;
}

export class OwnerMap extends EventEmitter {
  private readonly owners: (string | null)[] = new Array<string | null>(PARTITIONS).fill(null);
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly watchers: Watcher[] = [];
  malformedValues = 0;
  ownerChanges = 0;
  reloadFailures = 0;

  constructor(private readonly client: Etcd3) {
    super();
  }

  async start(): Promise<void> {
    const nodes = await this.client.watch().prefix(NODES_PREFIX).create();
    nodes.on('put', (kv) => this.putNode(kv.value.toString()));
    nodes.on('delete', (kv) => this.deleteNode(kv.key.toString().slice(NODES_PREFIX.length)));
    nodes.on('connected', () => this.reloadAfterReconnect());
    const owners = await this.client.watch().prefix(OWNERS_PREFIX).create();
    owners.on('put', (kv) => this.setOwner(kv.key.toString(), ownerOfValue(kv.value.toString())));
    owners.on('delete', (kv) => this.setOwner(kv.key.toString(), null));
    owners.on('connected', () => this.reloadAfterReconnect());
    this.watchers.push(nodes, owners);
    await this.reload();
  }

  ownerOf(partition: number): string | null {
    return this.owners[partition] ?? null;
  }

  node(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  get nodeList(): NodeInfo[] {
    return [...this.nodes.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Partitions whose owner key exists and whose owner is a live node. */
  get partitionsOwned(): number {
    let n = 0;
    for (const o of this.owners) if (o !== null && this.nodes.has(o)) n++;
    return n;
  }

  private putNode(value: string): void {
    const info = parseNodeInfo(value);
    if (!info) {
      this.malformedValues++;
      return;
    }
    const before = this.nodes.get(info.name);
    this.nodes.set(info.name, info);
    if (!before || before.grpc !== info.grpc) this.emit('nodes', this.nodeList);
  }

  private deleteNode(name: string): void {
    if (this.nodes.delete(name)) this.emit('nodes', this.nodeList);
  }

  private setOwner(key: string, node: string | null): void {
    const p = partitionOfOwnerKey(key);
    if (p === null) {
      this.malformedValues++;
      return;
    }
    const previous = this.owners[p] ?? null;
    if (previous === node) return;
    this.owners[p] = node;
    this.ownerChanges++;
    this.emit('owner', p, node, previous);
  }

  /** Reread both prefixes (at start and after a watch reconnect: changes during the gap are not replayed). */
  /** Reread both lists after a watch reconnect (changes in the gap); retried while etcd does not answer. */
  private reloadAfterReconnect(attempt = 0): void {
    this.reload().catch(() => {
      this.reloadFailures++;
      if (attempt < 20 && this.watchers.length > 0) setTimeout(() => this.reloadAfterReconnect(attempt + 1), 250).unref();
    });
  }

  private async reload(): Promise<void> {
    const nodes = await this.client.getAll().prefix(NODES_PREFIX).strings();
    const seen = new Set<string>();
    for (const value of Object.values(nodes)) {
      const info = parseNodeInfo(value);
      if (!info) {
        this.malformedValues++;
        continue;
      }
      seen.add(info.name);
      this.putNode(value);
    }
    for (const name of [...this.nodes.keys()]) if (!seen.has(name)) this.deleteNode(name);
    const owners = await this.client.getAll().prefix(OWNERS_PREFIX).strings();
    const next = new Array<string | null>(PARTITIONS).fill(null);
    for (const [key, value] of Object.entries(owners)) {
      const p = partitionOfOwnerKey(key);
      if (p === null) this.malformedValues++;
      else next[p] = ownerOfValue(value);
    }
    for (let p = 0; p < PARTITIONS; p++) if (this.owners[p] !== next[p]) this.setOwner(`${OWNERS_PREFIX}${String(p).padStart(4, '0')}`, next[p]!);
  }

  async close(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.cancel().catch(() => {})));
  }
}
