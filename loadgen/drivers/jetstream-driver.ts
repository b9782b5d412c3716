// Drives NATS JetStream (deploy/services/nats.ts) with the pair load, as a peer
// of our full path (bench/peers.ts, docs/design/017-peers.md). One stream with
// file storage over every user's subject (created in prepare()); one nats.js
// connection per user, no reconnect; user i has its own consumer filtered to
// its subject and acks each message it receives.
//
// What stands for what: the publish ack (the stream stored the message) is the
// sent ack; the consumer ack (+ACK to the message's reply subject, sent as the
// message is handed over) stands for delivered.
//
// Consumers: `push` (the server sends as messages arrive, to a deliver subject
// the connection subscribes to) or `pull` (nats.js's consume(): the client keeps
// pull requests of pull_batch_messages outstanding). bench/peers.ts uses the one
// that carried more at p99 < 100 ms here (docs/design/017-peers.md).
//
// A disconnect is final (no reconnect): sends still waiting for their publish
// ack fail as "disconnected", later ones as "not connected", and each is
// counted in `errors`, as is the disconnect itself.
import { withTimeout } from '../../lib/async';
import {
  AckPolicy, connect, consumerOpts, createInbox, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType,
  type JetStreamClient, type JsMsg, type NatsConnection,
} from 'nats';
import { countFailure, failPending, type Driver, type Endpoint, type SendAcks } from './driver';
import { PEER_DRIVER_LIMITS } from './peer-limits';

export type JetStreamConsumerKind = 'push' | 'pull';

export interface JetStreamDriverOptions {
  /** nats://127.0.0.1:<port> */
  url: string;
  consumer?: JetStreamConsumerKind;
  /** Stream name and subject prefix of this run. */
  runTag?: string;
}

export class JetStreamDriver implements Driver {
  readonly name: string;
  readonly stream: string;
  private readonly prefix: string;
  private readonly kind: JetStreamConsumerKind;

  constructor(private readonly opts: JetStreamDriverOptions) {
    const tag = opts.runTag ?? `r${process.pid}x${Date.now().toString(36)}`;
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(tag)) throw new Error(`jetstream: run tag ${tag} must be 1-32 letters, digits, _ or -`);
    this.kind = opts.consumer ?? 'push';
    this.name = `jetstream-${this.kind}`;
    this.stream = `WA_PEERS_${tag}`;
    this.prefix = `wa.${tag}.u`;
  }

  subject(index: number): string {
    return `${this.prefix}.${index}`;
  }

  /** The stream over every user's subject: file storage, kept like history (limits retention), capped in bytes. */
  async prepare(): Promise<void> {
    const nc = await this.dial();
    try {
      const jsm = await nc.jetstreamManager({ timeout: PEER_DRIVER_LIMITS.subscribe_timeout_ms });
      await jsm.streams.add({
        name: this.stream, subjects: [`${this.prefix}.>`], storage: StorageType.File, retention: RetentionPolicy.Limits,
        max_bytes: PEER_DRIVER_LIMITS.stream_bytes_max, discard: DiscardPolicy.Old, num_replicas: 1,
      });
    } finally {
      await nc.close();
    }
  }

  async connect(index: number): Promise<Endpoint> {
    const nc = await this.dial();
    try {
      const js = nc.jetstream({ timeout: PEER_DRIVER_LIMITS.publish_ack_timeout_ms });
      const endpoint = new JetStreamEndpoint(nc, js, (to) => this.subject(to));
      const onMsg = (m: JsMsg | null) => endpoint.receive(m);
      endpoint.stopConsuming = await withTimeout(this.kind === 'push' ? this.push(js, index, onMsg) : this.pull(nc, js, index, onMsg),
        PEER_DRIVER_LIMITS.subscribe_timeout_ms, 'JetStream consumer');
      return endpoint;
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  }

  private dial(): Promise<NatsConnection> {
    return connect({ servers: this.opts.url, reconnect: false, timeout: PEER_DRIVER_LIMITS.connect_timeout_ms, name: 'wa-peers' });
  }

  /** Each returns how to stop consuming before the connection closes. */
  private async push(js: JetStreamClient, index: number, onMsg: (m: JsMsg | null) => void): Promise<() => void> {
    const o = consumerOpts();
    o.bindStream(this.stream);
    o.filterSubject(this.subject(index));
    o.deliverTo(createInbox());
    o.deliverAll();
    o.ackExplicit();
    o.manualAck();
    o.maxAckPending(PEER_DRIVER_LIMITS.max_ack_pending);
    // An error in place of a message (the subscription failed) reaches receive() as null: an error.
    o.callback((err, m) => onMsg(err ? null : m));
    const sub = await js.subscribe(this.subject(index), o);
    return () => sub.unsubscribe();
  }

  private async pull(nc: NatsConnection, js: JetStreamClient, index: number, onMsg: (m: JsMsg | null) => void): Promise<() => void> {
    const jsm = await nc.jetstreamManager({ timeout: PEER_DRIVER_LIMITS.subscribe_timeout_ms });
    const name = `u${index}`;
    await jsm.consumers.add(this.stream, {
      durable_name: name, filter_subject: this.subject(index), ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All, max_ack_pending: PEER_DRIVER_LIMITS.max_ack_pending,
    });
    const consumer = await js.consumers.get(this.stream, name);
    const messages = await consumer.consume({ max_messages: PEER_DRIVER_LIMITS.pull_batch_messages, callback: onMsg });
    // Stopped before the connection closes: else nats.js retries its pull and logs each retry.
    return () => void messages.stop();
  }
}

class JetStreamEndpoint implements Endpoint {
  onReceive: (payload: Uint8Array) => void = () => {};
  onClose: (code: number) => void = () => {};
  errors = 0;
  readonly sendAcks: SendAcks = { acked: 0, failed: new Map(), pending: 0 };
  stopConsuming: () => void = () => {};
  private gone = false;
  private closing = false;

  constructor(private readonly nc: NatsConnection, private readonly js: JetStreamClient, private readonly subjectOf: (index: number) => string) {
    void nc.closed().then(() => this.lost());
  }

  receive(m: JsMsg | null): void {
    if (!m) {
      this.errors++;
      return;
    }
    this.onReceive(m.data);
    m.ack();
  }

  send(toIndex: number, payload: Uint8Array): void {
    if (this.gone || this.nc.isClosed()) return this.fail('not connected');
    this.sendAcks.pending++;
    // A copy: the engine reuses its buffer and nats.js queues the bytes until its next flush.
    this.js.publish(this.subjectOf(toIndex), Uint8Array.prototype.slice.call(payload)).then(
      () => this.settle(null),
      (err: Error) => this.settle(err),
    );
  }

  close(): void {
    this.closing = true;
    this.stopConsuming();
    void this.nc.close().catch(() => {});
  }

  private settle(err: Error | null): void {
    if (this.gone) return; // already failed as "disconnected"
    this.sendAcks.pending--;
    if (err) this.fail(/timeout/i.test(err.message) ? 'publish timeout' : `publish: ${err.message}`);
    else this.sendAcks.acked++;
  }

  /** The connection is closed: what still waits for a publish ack never gets one here. */
  private lost(): void {
    if (this.gone) return;
    this.gone = true;
    this.errors += failPending(this.sendAcks, 'disconnected');
    if (!this.closing) {
      this.errors++;
      this.onClose(1006);
    }
  }

  private fail(reason: string): void {
    countFailure(this.sendAcks, reason);
    this.errors++;
  }
}
