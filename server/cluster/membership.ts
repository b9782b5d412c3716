// A chat node's membership: a lease in etcd that it keeps alive itself, its
// node key under that lease, and the live member list (a watch on the node
// keys). The lease is the node's right to serve: `servingUntil` is the last
// moment the node may still act as an owner — the send time of the last
// keepalive etcd confirmed, plus the TTL, minus a margin. etcd cannot expire
// the lease (and hand its partitions to another node) before that moment, so a
// node that stops serving at it never overlaps the next owner. A node paused
// past it (SIGSTOP) resumes with stale ownership; fencing tokens in the store
// make its late commits harmless (server/store/store.ts: FencedError).
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import type { Etcd3, Watcher } from 'etcd3';
import { etcdStreamFailed } from './etcd';
import { nodeKey, NODES_PREFIX, parseNodeInfo, type NodeInfo } from './keys';

export interface MembershipOptions {
  name: string;
  /** Where gateways dial this node (read at join: the port is bound after the options are made). */
  grpc: string | { grpc: string };
  leaseSeconds: number;
  log: (line: string) => void;
}

export declare interface ClusterMembership {
  /** The live member list changed (names, sorted). */
  on(event: 'nodes', handler: (names: string[]) => void): this;
  /** The lease is gone or can no longer be trusted: stop serving everything now. */
  on(event: 'lost', handler: (reason: string) => void): this;
}

export class ClusterMembership extends EventEmitter {
  /** The lease we hold (its id as a decimal string), or null. */
  private lease: string | null = null;
  leaseId = '';
  /** Date.now() past which this node must not act as an owner. 0: never joined or lost. */
  servingUntil = 0;
  private readonly members = new Map<string, NodeInfo>();
  private watcher: Watcher | null = null;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private closed = false;
  private kaStream: { write(req: { ID: string }): void; end(): void; on(ev: string, fn: (...a: never[]) => void): void } | null = null;
  /** A keepalive sent out of turn, right after the stream broke or stalled (another member takes it). */
  private kaSoon: NodeJS.Timeout | null = null;
  private lastSoon = 0;
  private kaSent: number[] = [];
  malformedValues = 0;
  keepalives = 0;

  constructor(
    private readonly client: Etcd3,
    private readonly opts: MembershipOptions,
  ) {
    super();
  }

  get nodes(): string[] {
    return [...this.members.keys()].sort();
  }

  info(name: string): NodeInfo | undefined {
    return this.members.get(name);
  }

  /** Grant a lease, announce this node under it, and start watching the members. */
  async join(): Promise<void> {
    const ttl = this.opts.leaseSeconds;
    // We choose the lease id (below 2^53): the server's protobuf setup decodes 64-bit integers to JS
    // numbers (server/common/protocol.ts), which would round an id etcd picked from the full 64 bits.
    const id = String(randomInt(1, 2 ** 48) * 32 + randomInt(0, 32));
    const sentAt = Date.now();
    const res = await this.client.leaseClient.leaseGrant({ TTL: ttl, ID: id });
    if (res.error) throw new Error(`etcd refused the lease: ${res.error}`);
    this.leaseId = id;
    this.lease = id;
    this.servingUntil = sentAt + this.safeMs();
    const grpc = typeof this.opts.grpc === 'string' ? this.opts.grpc : this.opts.grpc.grpc;
    const info: NodeInfo = { name: this.opts.name, grpc, started_ms: Date.now() };
    await this.client.put(nodeKey(this.opts.name)).value(JSON.stringify(info)).lease(id);
    if (!this.watcher) await this.watchMembers();
    // The first keepalive now, not a beat later: the grant and the put may have taken a good part of the
    // lease already (retried onto another member, or just after an election).
    this.keepaliveSoon();
    this.scheduleKeepalive();
    if (!this.watchdog) this.watchdog = setInterval(() => this.checkDeadline(), 50);
  }

  /** How long after a keepalive is sent the node may keep serving: TTL minus a margin for clock drift and a late tick. */
  private safeMs(): number {
    const ttlMs = this.opts.leaseSeconds * 1000;
    return ttlMs - Math.max(250, ttlMs / 5);
  }

  /**
   * A beat every TTL/8 (250 ms for 2 s): the last confirmed send is then at most a beat old when an
   * etcd leader dies, and the election (up to 2 x election timeout) fits in what is left of the lease.
   */
  private keepaliveEveryMs(): number {
    return Math.max(125, (this.opts.leaseSeconds * 1000) / 8);
  }

  /** No answer on the stream for this long: its member is dead, frozen or has no leader; try another. */
  private stallMs(): number {
    return Math.max(250, (this.opts.leaseSeconds * 1000) / 4);
  }

  private scheduleKeepalive(): void {
    if (this.closed) return;
    this.keepaliveTimer = setTimeout(() => void this.keepalive(), this.keepaliveEveryMs());
  }

  /**
   * The stream broke or stalled: send a keepalive on a new stream now (at most one per 100 ms) instead of
   * at the next beat. With several etcd members the new stream goes to another one (etcd-hosts.ts); a
   * keepalive on a dead or frozen member would otherwise wait a beat or two, and a leader election
   * can take most of the rest of the lease.
   */
  private keepaliveSoon(): void {
    if (this.closed || !this.lease || this.kaSoon) return;
    const wait = Math.max(0, this.lastSoon + 100 - Date.now());
    this.kaSoon = setTimeout(() => {
      this.kaSoon = null;
      this.lastSoon = Date.now();
      void this.beat();
    }, wait);
  }

  /**
   * One long-lived LeaseKeepAlive stream (a stream per beat, as the library's
   * keepaliveOnce does, queued behind a burst of ownership transactions long
   * enough to cost the lease). Answers come back in order, so each one
   * confirms the oldest outstanding send time.
   */
  private async keepalive(): Promise<void> {
    const lease = this.lease;
    if (!lease || this.closed) return;
    await this.beat();
    if (lease === this.lease) this.scheduleKeepalive();
  }

  private async beat(): Promise<void> {
    if (!this.lease || this.closed) return;
    try {
      if (!this.kaStream) await this.openKeepaliveStream();
      this.kaSent.push(Date.now());
      if (this.kaSent.length > 64) this.kaSent.shift(); // bounded: a stream that never answers
      this.kaStream!.write({ ID: this.leaseId });
    } catch (err) {
      this.opts.log(`lease keepalive failed: ${(err as Error).message}`);
      this.kaStream = null;
    }
  }

  private async openKeepaliveStream(): Promise<void> {
    const stream = await this.client.leaseClient.leaseKeepAlive();
    // Each stream has its own send times: a stream given up as stalled (ended, not cancelled) may still
    // answer once its member has a leader again, and that answer confirms its send time as well.
    const sent: number[] = [];
    this.kaStream = stream;
    this.kaSent = sent;
    stream.on('data', (res: { ID: string; TTL: string }) => {
      const sentAt = sent.shift();
      if (!this.lease || String(res.ID) !== this.leaseId || sentAt === undefined) return;
      if (Number(res.TTL) <= 0) {
        this.lose('etcd says the lease has expired');
        return;
      }
      this.keepalives++;
      this.servingUntil = Math.max(this.servingUntil, sentAt + this.safeMs());
    });
    const drop = (why: string) => {
      if (stream !== this.kaStream) return;
      this.kaStream = null;
      etcdStreamFailed(this.client, stream);
      if (this.closed) return;
      this.opts.log(`lease keepalive stream ${why}; reopening`);
      this.keepaliveSoon();
    };
    stream.on('error', (err: Error) => drop(`failed: ${err.message}`));
    stream.on('end', () => drop('ended'));
  }

  private endKeepaliveStream(): void {
    const stream = this.kaStream;
    this.kaStream = null;
    try {
      stream?.end();
    } catch {
      // already closed
    }
  }

  private checkDeadline(): void {
    if (this.lease && this.servingUntil > 0 && Date.now() > this.servingUntil) {
      this.lose('no keepalive confirmed before the lease deadline');
      return;
    }
    // No answer for a whole beat: the member behind the stream is gone quietly (frozen, cut off, or
    // without a leader). Give up on that stream and send on another at once.
    const oldest = this.kaSent[0];
    const stream = this.kaStream;
    if (this.lease && stream && oldest !== undefined && Date.now() - oldest > this.stallMs()) {
      this.opts.log(`lease keepalive unanswered for ${Date.now() - oldest} ms; reopening the stream`);
      etcdStreamFailed(this.client, stream);
      this.endKeepaliveStream();
      // Ended, not cancelled: it may still answer. Cancelled later, so a frozen member does not keep it forever.
      const s = stream as { cancel?: () => void };
      setTimeout(() => s.cancel?.(), 2 * this.opts.leaseSeconds * 1000).unref();
      this.keepaliveSoon();
    }
  }

  /** Drop the lease (it may already be gone in etcd), tell the owner, and try to join again with a new one. */
  private lose(reason: string): void {
    if (!this.lease) return;
    this.opts.log(`lease ${this.leaseId} lost: ${reason}`);
    const old = this.lease;
    this.lease = null;
    this.servingUntil = 0;
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    if (this.kaSoon) clearTimeout(this.kaSoon);
    this.kaSoon = null;
    this.endKeepaliveStream();
    void this.client.leaseClient.leaseRevoke({ ID: old }).catch(() => {});
    this.emit('lost', reason);
    void this.rejoin();
  }

  private async rejoin(): Promise<void> {
    for (let delay = 200; !this.closed && !this.lease; delay = Math.min(delay * 2, 2000)) {
      try {
        await this.join();
        this.opts.log(`rejoined with lease ${this.leaseId}`);
        this.emit('nodes', this.nodes);
        return;
      } catch (err) {
        this.opts.log(`rejoin failed: ${(err as Error).message}; retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async watchMembers(): Promise<void> {
    const watcher = await this.client.watch().prefix(NODES_PREFIX).create();
    this.watcher = watcher;
    watcher.on('put', (kv) => {
      const info = parseNodeInfo(kv.value.toString());
      if (!info) {
        this.malformedValues++;
        return;
      }
      const had = this.members.has(info.name);
      this.members.set(info.name, info);
      if (!had) this.emit('nodes', this.nodes);
    });
    watcher.on('delete', (kv) => {
      const name = kv.key.toString().slice(NODES_PREFIX.length);
      if (this.members.delete(name)) this.emit('nodes', this.nodes);
    });
    // After a watch reconnect, reread the list: deletes during the gap would otherwise be missed.
    watcher.on('connected', () => void this.reload().catch((err: Error) => this.opts.log(`member list reload failed: ${err.message}`)));
    await this.reload();
  }

  private async reload(): Promise<void> {
    const all = await this.client.getAll().prefix(NODES_PREFIX).strings();
    const next = new Map<string, NodeInfo>();
    for (const value of Object.values(all)) {
      const info = parseNodeInfo(value);
      if (info) next.set(info.name, info);
      else this.malformedValues++;
    }
    const before = this.nodes.join(',');
    this.members.clear();
    for (const [k, v] of next) this.members.set(k, v);
    if (this.nodes.join(',') !== before) this.emit('nodes', this.nodes);
  }

  /** Leave on purpose: the node key goes first (others start taking over), the lease last. */
  async leave(): Promise<void> {
    this.closed = true;
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    if (this.kaSoon) clearTimeout(this.kaSoon);
    if (this.watchdog) clearInterval(this.watchdog);
    this.endKeepaliveStream();
    await this.watcher?.cancel().catch(() => {});
    const lease = this.lease;
    this.lease = null;
    this.servingUntil = 0;
    if (lease) await this.client.leaseClient.leaseRevoke({ ID: lease }).catch(() => {});
  }

  /** Delete only the node key (a graceful stop: others see the node leave while it still hands its partitions over). */
  async withdraw(): Promise<void> {
    await this.client.delete().key(nodeKey(this.opts.name)).exec();
  }
}
