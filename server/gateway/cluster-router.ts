// The gateway's side of the multi-node chat tier. It keeps one gRPC stream to
// every chat node in etcd (server/cluster/owner-map.ts), sends session events
// to all of them (each node keeps the routes of every connection, to deliver
// to users on any gateway), and sends each client frame to the owner of its
// partition.
//
// A partition whose owner key is gone (its node died, or is handing it over)
// has its frames held here, in arrival order, bounded in count
// (gateway_hold_frames_max) and time (gateway_hold_ms): when the new owner's
// key appears they go to it in order; past the bound the client is told
// UNAVAILABLE and resends.
//
// Order across a move: frames the old owner had not yet handled (sent after
// the newest `processed_up_to_us` it reported) may be lost (it died) or
// refused (it gave the partition up). Their connections are closed when the
// owner changes, so the client reconnects and resends everything not yet
// acknowledged, in order, before anything newer — a later frame can never
// overtake an earlier one through the new owner.
import type { Etcd3 } from 'etcd3';
import { monoUs, type WireInbound } from '../common/grpc-defs';
import type { Limits } from '../common/config';
import { PARTITIONS } from '../common/partitions';
import { checkEtcd, etcdClient } from '../cluster/etcd';
import { parseEndpoints, type NodeInfo } from '../cluster/keys';
import { OwnerMap } from '../cluster/owner-map';
import { createHash } from 'node:crypto';
import { ChatLink, type UnaryMethod } from './chat-link';
import type { ChatRouter, FrameRoute, RouterCallbacks } from './chat-router';

interface NodeLink {
  name: string;
  grpc: string;
  link: ChatLink;
  /** Newest gateway batch the node says it has handled (our monotonic µs). */
  processedUpToUs: number;
  /** conn -> when it last sent a frame over this link (monotonic µs). */
  lastSentUs: Map<number, number>;
}

interface Held {
  item: WireInbound;
  giveUp: () => void;
  atMs: number;
}

export interface ClusterRouterOptions extends RouterCallbacks {
  peerKey: Buffer;
  etcd: string;
  gatewayId: string;
  limits: Limits;
  /** Close these connections (in-flight frames were lost or refused): the client resends in order. */
  closeConns: (conns: number[], reason: string) => void;
  log: (line: string) => void;
}

export class ClusterRouter implements ChatRouter {
  readonly byPartition = true;
  private readonly client: Etcd3;
  private readonly endpoints: string[];
  private readonly map: OwnerMap;
  private readonly nodes = new Map<string, NodeLink>();
  private readonly held = new Map<number, Held[]>();
  private heldCount = 0;
  private sweepTimer: NodeJS.Timeout | null = null;
  readonly stats = { held: 0, heldFlushed: 0, heldExpired: 0, heldRefused: 0, connsClosedInFlight: 0, ownerChanges: 0 };

  constructor(private readonly opts: ClusterRouterOptions) {
    this.endpoints = parseEndpoints(opts.etcd);
    this.client = etcdClient(this.endpoints);
    this.map = new OwnerMap(this.client);
  }

  async start(): Promise<void> {
    await checkEtcd(this.client, this.endpoints);
    this.map.on('nodes', (nodes) => this.syncLinks(nodes));
    this.map.on('owner', (p, node, previous) => this.ownerChanged(p, node, previous));
    await this.map.start();
    this.syncLinks(this.map.nodeList);
    this.sweepTimer = setInterval(() => this.sweep(), 100);
    this.sweepTimer.unref();
  }

  session(item: WireInbound): void {
    for (const n of this.nodes.values()) n.link.push(item);
  }

  frame(partition: number, item: WireInbound, giveUp: () => void): FrameRoute {
    const queue = this.held.get(partition);
    const owner = this.map.ownerOf(partition);
    const n = owner === null ? undefined : this.nodes.get(owner);
    if (!queue && n && n.link.up) {
      n.link.push(item);
      n.lastSentUs.set(item.conn, monoUs());
      return 'sent';
    }
    if (this.heldCount >= this.opts.limits.gateway_hold_frames_max) {
      this.stats.heldRefused++;
      return 'unavailable';
    }
    const entry: Held = { item, giveUp, atMs: Date.now() };
    if (queue) queue.push(entry);
    else this.held.set(partition, [entry]);
    this.heldCount++;
    this.stats.held++;
    return 'held';
  }

  unary<Req, Res>(method: UnaryMethod, req: Req, key = ''): Promise<Res> {
    // Rendezvous over the reachable nodes: one phone's code request and its verification meet on one node.
    let best: NodeLink | null = null;
    let bestScore = -1;
    for (const [name, n] of this.nodes) {
      if (!n.link.up) continue;
      const score = createHash('sha1').update(`${name}|${key}`).digest().readUInt32BE(0);
      if (score > bestScore) [best, bestScore] = [n, score];
    }
    if (!best) return Promise.reject(new Error('no chat node reachable'));
    return best.link.unary<Req, Res>(method, req);
  }

  /**
   * Clients are accepted once the owner map is read and a chat node is
   * reachable: frames of a partition without an owner wait in the hold.
   */
  get up(): boolean {
    for (const n of this.nodes.values()) if (n.link.up) return true;
    return false;
  }

  health(): Record<string, unknown> {
    return {
      cluster: {
        nodes: this.nodes.size, links_up: [...this.nodes.values()].filter((n) => n.link.up).length,
        partitions_routable: this.routable(), frames_held: this.heldCount, ...this.stats,
      },
    };
  }

  links(): readonly ChatLink[] {
    return [...this.nodes.values()].map((n) => n.link);
  }

  private routable(): number {
    let n = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const owner = this.map.ownerOf(p);
      if (owner !== null && this.nodes.get(owner)?.link.up) n++;
    }
    return n;
  }

  /** One link per node in etcd; a node that left (or moved) loses its link. */
  private syncLinks(nodes: NodeInfo[]): void {
    const live = new Map(nodes.map((n) => [n.name, n]));
    for (const [name, n] of this.nodes) {
      const info = live.get(name);
      if (info && info.grpc === n.grpc) continue;
      this.nodes.delete(name);
      this.lostInFlight(n, 'chat node left');
      n.link.close();
      this.opts.log(`chat node ${name} (${n.grpc}) left: link closed`);
    }
    for (const info of nodes) {
      if (this.nodes.has(info.name)) continue;
      const node: NodeLink = { name: info.name, grpc: info.grpc, link: null as unknown as ChatLink, processedUpToUs: 0, lastSentUs: new Map() };
      node.link = new ChatLink({
        target: info.grpc, gatewayId: this.opts.gatewayId, limits: this.opts.limits, sessions: this.opts.sessions, peerKey: this.opts.peerKey,
        onBatch: (batch) => {
          if (batch.processed_up_to_us && batch.processed_up_to_us > node.processedUpToUs) node.processedUpToUs = batch.processed_up_to_us;
          this.opts.onBatch(batch, node.link);
        },
        onUp: () => {
          this.opts.log(`chat node ${info.name} (${info.grpc}) link up`);
          this.flushAll();
        },
        onDown: (reason) => {
          this.opts.log(`chat node ${info.name} link down: ${reason}`);
          this.lostInFlight(node, `chat node ${info.name} unreachable`);
        },
      });
      this.nodes.set(info.name, node);
      node.link.start();
    }
  }

  private ownerChanged(partition: number, owner: string | null, previous: string | null): void {
    this.stats.ownerChanges++;
    // The old owner may hold frames it will never handle for this partition.
    const old = previous === null ? undefined : this.nodes.get(previous);
    if (old && previous !== owner) this.lostInFlight(old, `partition ${partition} moved`);
    this.flush(partition);
  }

  /** Close the connections with frames the node has not reported handled. */
  private lostInFlight(n: NodeLink, reason: string): void {
    const conns: number[] = [];
    for (const [conn, at] of n.lastSentUs) if (at > n.processedUpToUs) conns.push(conn);
    n.lastSentUs.clear();
    if (conns.length === 0) return;
    this.stats.connsClosedInFlight += conns.length;
    this.opts.closeConns(conns, reason);
  }

  private flushAll(): void {
    for (const p of [...this.held.keys()]) this.flush(p);
  }

  /** Send a partition's held frames to its owner, in order, if it has one that is up. */
  private flush(partition: number): void {
    const queue = this.held.get(partition);
    if (!queue) return;
    const owner = this.map.ownerOf(partition);
    const n = owner === null ? undefined : this.nodes.get(owner);
    if (!n || !n.link.up) return;
    this.held.delete(partition);
    this.heldCount -= queue.length;
    const now = monoUs();
    for (const h of queue) {
      n.link.push(h.item);
      n.lastSentUs.set(h.item.conn, now);
    }
    this.stats.heldFlushed += queue.length;
  }

  /** Held too long: the client hears UNAVAILABLE; processed marks let old send-times go. */
  private sweep(): void {
    const cutoff = Date.now() - this.opts.limits.gateway_hold_ms;
    for (const [p, queue] of this.held) {
      let expired = 0;
      while (expired < queue.length && queue[expired]!.atMs < cutoff) expired++;
      if (expired === 0) continue;
      for (const h of queue.splice(0, expired)) h.giveUp();
      this.heldCount -= expired;
      this.stats.heldExpired += expired;
      if (queue.length === 0) this.held.delete(p);
    }
    for (const n of this.nodes.values()) for (const [conn, at] of n.lastSentUs) if (at <= n.processedUpToUs) n.lastSentUs.delete(conn);
  }

  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const n of this.nodes.values()) n.link.close();
    void this.map.close();
    this.client.close();
  }
}
