// A device that behaves like a real app behind a load balancer: when its
// socket drops (gateway killed, drained with 1001) it reconnects to the same
// URL, and a send that failed with the connection goes out again after the
// reconnect with the same client_msg_id (the server dedupes it). It records
// what arrived by client_msg_id, so a test compares sent with received.
import { ChatClient } from '../../loadgen/client/chat-client';
import { mintToken } from '../../server/common/token';
import { sleep } from './system';

/** Reconnect attempts after one drop before the device gives up (bounded: ~10 s at the capped delay). */
const RECONNECT_ATTEMPTS_MAX = 50;
const RECONNECT_DELAY_MS_MIN = 20;
const RECONNECT_DELAY_MS_MAX = 200;
/**
 * One send is retried until this long has passed (each attempt waits for a connection first), backing off
 * from RECONNECT_DELAY_MS_MIN to SEND_RETRY_DELAY_MS_MAX as an app would. A count alone was not enough: an
 * UNAVAILABLE "partition moved" answer lasts a whole takeover (CQL: a 3 s quiet period), and 20 attempts
 * 20 ms apart gave up inside it (CI, 2026-12-06, the SIGSTOP test on the Cassandra cluster).
 */
const SEND_RETRY_WINDOW_MS = 25_000;
const SEND_RETRY_DELAY_MS_MAX = 500;

export class ReconnectingDevice {
  client: ChatClient | null = null;
  /** Close codes seen, in order (1006: the TCP connection dropped; 1001: the gateway went away). */
  readonly closeCodes: number[] = [];
  /** Successful reconnects after a drop. */
  reconnects = 0;
  /** client_msg_id -> deliveries seen (more than 1: redelivered after a reconnect). */
  readonly received = new Map<string, number>();
  /** client_msg_id -> server id of every acknowledged send. */
  readonly acked = new Map<string, number>();
  sendRetries = 0;
  private stopped = false;
  private connecting: Promise<void> | null = null;

  constructor(readonly url: string, readonly userId: number, private readonly secret: string) {}

  get connected(): boolean {
    return !!this.client && !this.client.closed;
  }

  /** The first connection; rejects when it cannot be made. */
  async connect(): Promise<void> {
    this.client = await this.dial();
  }

  /** Send and wait for the server's ack, retrying the same client_msg_id across reconnects. */
  async sendReliably(toUser: number, clientMsgId: string, body: Uint8Array): Promise<number> {
    let lastErr: Error | null = null;
    let delayMs = RECONNECT_DELAY_MS_MIN;
    const until = Date.now() + SEND_RETRY_WINDOW_MS;
    let attempt = 0;
    for (; attempt === 0 || Date.now() < until; attempt++) {
      if (attempt > 0) this.sendRetries++;
      await this.waitConnected();
      try {
        const ack = await this.client!.send(toUser, body, clientMsgId);
        this.acked.set(clientMsgId, ack.id);
        return ack.id;
      } catch (err) {
        lastErr = err as Error;
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, SEND_RETRY_DELAY_MS_MAX);
      }
    }
    throw new Error(`user ${this.userId}: ${clientMsgId} not acknowledged after ${attempt} attempts in ${SEND_RETRY_WINDOW_MS} ms: ${lastErr?.message}`);
  }

  close(): void {
    this.stopped = true;
    this.client?.close();
  }

  private async waitConnected(): Promise<void> {
    if (this.connected) return;
    if (this.connecting) return this.connecting;
    throw new Error(`user ${this.userId}: not connected and not reconnecting (gave up)`);
  }

  private async dial(): Promise<ChatClient> {
    const client = await ChatClient.connect({ url: this.url, token: mintToken(this.secret, this.userId, 3600), kind: 'lean', connectTimeoutMs: 5000 });
    client.onMessage = (m) => this.received.set(m.client_msg_id, (this.received.get(m.client_msg_id) ?? 0) + 1);
    client.onClose = (code) => this.onDropped(code);
    return client;
  }

  private onDropped(code: number): void {
    this.closeCodes.push(code);
    if (this.stopped) return;
    this.connecting = this.reconnect();
    this.connecting.catch(() => {});
  }

  private async reconnect(): Promise<void> {
    let delayMs = RECONNECT_DELAY_MS_MIN;
    for (let attempt = 0; attempt < RECONNECT_ATTEMPTS_MAX && !this.stopped; attempt++) {
      await sleep(delayMs);
      try {
        this.client = await this.dial();
        this.reconnects++;
        return;
      } catch {
        delayMs = Math.min(delayMs * 2, RECONNECT_DELAY_MS_MAX);
      }
    }
    throw new Error(`user ${this.userId}: could not reconnect in ${RECONNECT_ATTEMPTS_MAX} attempts`);
  }
}
