// Drives an MQTT broker (Mosquitto, deploy/services/mosquitto.ts) with the
// pair load, as a peer of our full path (bench/peers.ts, docs/design/017-peers.md).
// One mqtt.js client (MQTT 3.1.1, clean session, no reconnect) per user; user i
// subscribes to its own topic at QoS 1, and send(to) publishes to the
// recipient's topic at QoS 1.
//
// What stands for what: the broker's PUBACK to the publisher is the sent ack
// (the message is the broker's responsibility from then on); the subscriber's
// PUBACK, which mqtt.js writes right after handing the message over, stands for
// delivered. A disconnect is final (no reconnect: a silent reconnect would hide
// the outage): the sends still waiting for their PUBACK fail as "disconnected",
// later sends as "not connected", and each is counted in `errors`.
//
// Per message sent: one payload copy (the engine reuses its buffer and mqtt.js
// keeps the packet until the PUBACK), one mqtt.js publish (its packet object,
// outgoing-store entry and a corked write); per message received: mqtt.js's
// parse and its PUBACK write.
import type { Socket } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import { withTimeout } from '../../lib/async';
import { countFailure, failPending, type Driver, type Endpoint, type SendAcks } from './driver';
import { PEER_DRIVER_LIMITS } from './peer-limits';

export interface MqttDriverOptions {
  /** mqtt://127.0.0.1:<port> */
  url: string;
  /** Topic and client-id prefix of this run, so two runs on one broker never share a topic. */
  runTag?: string;
}

export class MqttDriver implements Driver {
  readonly name = 'mqtt-qos1';
  private readonly tag: string;

  constructor(private readonly opts: MqttDriverOptions) {
    this.tag = opts.runTag ?? `r${process.pid}-${Date.now().toString(36)}`;
  }

  topic(index: number): string {
    return `wa/${this.tag}/u/${index}`;
  }

  async connect(index: number): Promise<Endpoint> {
    // allowRetries false: a refused or closed connection rejects instead of waiting for a reconnect.
    const client = await connectAsync(this.opts.url, {
      clientId: `wa-${this.tag}-${index}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: PEER_DRIVER_LIMITS.connect_timeout_ms,
      keepalive: PEER_DRIVER_LIMITS.keepalive_s,
    }, false);
    // mqtt.js leaves Nagle on (net.createConnection's default). Our lean client, nats.js and the broker
    // (set_tcp_nodelay) all turn it off; with it on, a PUBLISH or PUBACK behind an unacked one waits
    // for the peer's delayed ACK (tens of ms on loopback): latency that is the client's setting, not MQTT's.
    (client.stream as Socket).setNoDelay?.(true);
    try {
      await withTimeout(client.subscribeAsync(this.topic(index), { qos: 1 }), PEER_DRIVER_LIMITS.subscribe_timeout_ms, 'MQTT SUBACK');
    } catch (err) {
      client.end(true);
      throw err;
    }
    return new MqttEndpoint(client, (to) => this.topic(to));
  }
}

class MqttEndpoint implements Endpoint {
  onReceive: (payload: Uint8Array) => void = () => {};
  onClose: (code: number) => void = () => {};
  errors = 0;
  readonly sendAcks: SendAcks = { acked: 0, failed: new Map(), pending: 0 };
  private closed = false;
  private closing = false;

  constructor(private readonly client: MqttClient, private readonly topicOf: (index: number) => string) {
    client.on('message', (_topic, payload) => this.onReceive(payload));
    // A socket or protocol error ends the connection: it is counted once, by 'close'. (The listener must exist:
    // an 'error' with none would throw.)
    client.on('error', () => {});
    client.on('close', () => this.lost());
  }

  send(toIndex: number, payload: Uint8Array): void {
    if (this.closed || !this.client.connected) return this.fail('not connected');
    this.sendAcks.pending++;
    this.client.publish(this.topicOf(toIndex), Buffer.from(payload), { qos: 1 }, (err) => {
      // After a disconnect every pending send was already counted as failed; mqtt.js may still call back.
      if (this.closed) return;
      this.sendAcks.pending--;
      if (err) this.fail(`puback: ${err.message}`);
      else this.sendAcks.acked++;
    });
  }

  close(): void {
    this.closing = true;
    this.client.end(true);
  }

  /** The connection is gone: what still waits for a PUBACK never gets one (no reconnect, clean session). */
  private lost(): void {
    if (this.closed) return;
    this.closed = true;
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
