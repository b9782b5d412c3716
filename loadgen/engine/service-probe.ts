// "Served again", measured from the client side: PROBE_CHATS 1:1 chats of
// users of their own (beyond the run's users), each sender on its own
// connection (spread over the gateway URLs), send one message at a time, one
// every PROBE_PERIOD_MS, and time their `sent` acks. When a fault's disruption
// is in effect (FaultExecutor calls down()), each chat waits for its first ack
// of a send issued after that moment; the fault is served again when every
// chat has had one. A chat whose connection closed reconnects every
// PROBE_RECONNECT_MS, to the next gateway URL after a failed connect (as a
// client behind a load balancer would land on a live gateway); its failed
// attempts (sends and connects) are counted.
//
// Cost: PROBE_CHATS sends per PROBE_PERIOD_MS (16 chats: 80 msgs/s), a few
// hundred bytes each, next to the run's thousands. The recipients stay
// offline, so their queues grow by one message per period: far below the
// offline queue's 10,000 for runs of minutes (PROBE_SENDS_PER_CHAT_MAX bounds it).
// With M chat nodes, 16 chats miss a given node's partitions with probability
// ((M-1)/M)^16 (0.15% per node at M = 3).
import { mintToken } from '../../server/common/token';
import { ChatClient } from '../client/chat-client';

export const PROBE_CHATS = 16;
export const PROBE_PERIOD_MS = 200;
const PROBE_RECONNECT_MS = 250;
const PROBE_CONNECT_TIMEOUT_MS = 2000;
const PROBE_REQUEST_TIMEOUT_MS = 5000;
/** Below the server's offline queue limit (10,000) with room for a long run. */
const PROBE_SENDS_PER_CHAT_MAX = 9000;
const TOKEN_TTL_SECONDS = 24 * 3600;

export interface ProbeOptions {
  /** The gateways' URLs now (a gateway restarted on a new port shows up here). */
  urls: () => readonly string[];
  secret: string;
  /** User id of probe chat k's sender: firstUser + 2k; its recipient firstUser + 2k + 1 (provisioned by the caller). */
  firstUser: number;
  chats?: number;
}

/** Per fault: when every probe chat was served after the disruption began. */
export interface ProbeOutcome {
  /** Epoch ms the disruption began (down). */
  down_epoch_ms: number;
  /** Epoch ms of the last chat's first ack after it; null: some chat never got one before the probe stopped. */
  served_epoch_ms: number | null;
  chats: number;
  chats_served: number;
  /** Probe sends and reconnects that failed (error, timeout, closed or refused connection) between down and served (or the end). */
  attempts_failed: number;
}

interface Watch {
  down: number;
  firstAck: (number | null)[];
  served: number;
  failed: number;
}

export class ServiceProbe {
  readonly chats: number;
  private readonly clients: (ChatClient | null)[];
  private readonly sendsLeft: number[];
  /** Chat k connects to URL (k + shift[k]) mod count: a failed connect moves it on. */
  private readonly shift: number[];
  private readonly watches = new Map<number, Watch>();
  private stopped = false;
  private loops: Promise<void>[] = [];
  /** Sends issued by the probe and their failures over the whole run. */
  sends = 0;
  failures = 0;

  constructor(private readonly o: ProbeOptions) {
    this.chats = o.chats ?? PROBE_CHATS;
    this.clients = new Array(this.chats).fill(null);
    this.sendsLeft = new Array(this.chats).fill(PROBE_SENDS_PER_CHAT_MAX);
    this.shift = new Array(this.chats).fill(0);
  }

  /** Connect every sender (setup: before the measured window), then start probing. */
  async start(): Promise<void> {
    await Promise.all(this.clients.map(async (_, k) => {
      this.clients[k] = await this.connect(k);
    }));
    this.loops = this.clients.map((_, k) => this.loop(k));
  }

  /** A fault's disruption is in effect from `epochMs`. */
  down(id: number, epochMs: number): void {
    this.watches.set(id, { down: epochMs, firstAck: new Array(this.chats).fill(null), served: 0, failed: 0 });
  }

  outcome(id: number): ProbeOutcome | null {
    const w = this.watches.get(id);
    if (!w) return null;
    const acks = w.firstAck.filter((t): t is number => t !== null);
    return {
      down_epoch_ms: w.down, served_epoch_ms: w.served === this.chats ? Math.max(...acks) : null,
      chats: this.chats, chats_served: w.served, attempts_failed: w.failed,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.clients) c?.close();
    await Promise.all(this.loops);
  }

  private connect(k: number): Promise<ChatClient> {
    const urls = this.o.urls();
    return ChatClient.connect({
      url: urls[(k + this.shift[k]!) % urls.length]!, kind: 'lean', token: mintToken(this.o.secret, this.o.firstUser + 2 * k, TOKEN_TTL_SECONDS),
      ackDelayMs: null, connectTimeoutMs: PROBE_CONNECT_TIMEOUT_MS, requestTimeoutMs: PROBE_REQUEST_TIMEOUT_MS,
    });
  }

  private async loop(k: number): Promise<void> {
    const body = new Uint8Array(32);
    while (!this.stopped && this.sendsLeft[k]! > 0) {
      const issued = Date.now();
      let client = this.clients[k];
      if (!client || client.closed) {
        client = await this.connect(k).catch(() => null);
        this.clients[k] = client;
        if (!client) {
          this.shift[k]!++;
          this.failed(k, issued);
          await pause(PROBE_RECONNECT_MS);
          continue;
        }
        if (this.stopped) client.close();
      }
      this.sends++;
      this.sendsLeft[k]!--;
      try {
        await client.send(this.o.firstUser + 2 * k + 1, body);
        this.acked(k, issued, Date.now());
      } catch {
        if (this.stopped) break;
        this.failed(k, issued);
      }
      await pause(Math.max(0, issued + PROBE_PERIOD_MS - Date.now()));
    }
  }

  private failed(k: number, issued: number): void {
    this.failures++;
    for (const w of this.watches.values()) if (w.firstAck[k] === null && issued >= w.down) w.failed++;
  }

  private acked(k: number, issued: number, at: number): void {
    for (const w of this.watches.values()) {
      if (w.firstAck[k] !== null || issued < w.down) continue;
      w.firstAck[k] = at;
      w.served++;
    }
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
