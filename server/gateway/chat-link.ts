// The gateway's end of the hot gRPC stream to the chat service. Everything the
// gateway's sockets produce in one event-loop turn goes out as ONE
// GatewayBatch; the chat service answers with ChatBatches. When the stream
// breaks (chat service restarted, killed), the link reconnects with backoff
// and says Hello again with every session it holds, so the chat service
// rebuilds its routes and drains what those users missed.
import * as grpc from '@grpc/grpc-js';
import { chunksOf, TurnBatcher } from '../../lib/turn-batcher';
import type { Limits } from '../common/config';
import { clientProof, PEER_AUTH_HEADER, verifyServerProof } from '../common/peer-auth';
import { ChatServiceClient, monoUs, streamChannelOptions, type WireChatBatch, type WireGatewayBatch, type WireInbound } from '../common/grpc-defs';

export interface ChatLinkOptions {
  target: string;
  gatewayId: string;
  /** server/common/peer-auth.ts: this gateway proves itself on every call; the node must prove itself back. */
  peerKey: Buffer;
  /** grpc_batch_items_max, grpc_message_bytes_max and the reconnect delays (chat_link_retry_ms_*). */
  limits: Limits;
  sessions: () => { conn: number; user: number }[];
  onBatch: (batch: WireChatBatch) => void;
  onUp?: () => void;
  onDown?: (reason: string) => void;
}

export class ChatLink {
  readonly client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  private call: grpc.ClientDuplexStream<WireGatewayBatch, WireChatBatch> | null = null;
  private readonly pending = new TurnBatcher<WireInbound>((items) => this.flush(items));

  private delayMs: number;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  up = false;
  /** Calls whose chat node failed to prove itself. */
  authFailures = 0;
  batchesSent = 0;
  itemsSent = 0;

  constructor(private readonly opts: ChatLinkOptions) {
    this.delayMs = opts.limits.chat_link_retry_ms_min;
    this.client = new ChatServiceClient(opts.target, grpc.credentials.createInsecure(), streamChannelOptions(opts.limits)) as never;
  }

  start(): void {
    if (this.closed) return;
    const { proof, nonce } = clientProof(this.opts.peerKey, this.opts.gatewayId);
    const md = new grpc.Metadata();
    md.set(PEER_AUTH_HEADER, proof);
    const call = (this.client.Connect as (md: grpc.Metadata) => grpc.ClientDuplexStream<WireGatewayBatch, WireChatBatch>)(md);
    this.call = call;
    let gotData = false;
    let peer: string | null = null;
    call.on('metadata', (m: grpc.Metadata) => {
      peer = verifyServerProof(this.opts.peerKey, m.get(PEER_AUTH_HEADER)[0], nonce);
      if (peer === null) {
        this.authFailures++;
        call.cancel();
        this.down(call, 'the chat node did not prove itself (wa-peer-auth): a different token secret, or not our chat service');
        return;
      }
      // Only a node that proved itself hears our sessions. Hello carries every session we hold: after a
      // chat-service restart this rebuilds its routes.
      call.write({
        items: [{ conn: 0, user: 0, hello: { gateway_id: this.opts.gatewayId, sessions: this.opts.sessions() }, recv_at_us: 0 }],
        sent_at_us: monoUs(),
      });
    });
    call.on('data', (batch: WireChatBatch) => {
      if (peer === null) return; // never act on an unauthenticated node's batches
      if (!gotData) {
        // The first (empty) batch is the chat service's welcome: only now is the link usable.
        gotData = true;
        this.delayMs = this.opts.limits.chat_link_retry_ms_min;
        this.up = true;
        this.opts.onUp?.();
      }
      this.opts.onBatch(batch);
    });
    call.on('error', (err: Error) => this.down(call, err.message));
    call.on('end', () => this.down(call, 'stream ended'));
  }

  /** Queue one item for this turn's batch. Returns false when the chat service is unreachable. */
  push(item: WireInbound): boolean {
    if (!this.up) return false;
    this.pending.push(item);
    return true;
  }

  private flush(items: WireInbound[]): void {
    const call = this.call;
    if (!call || !this.up) return;
    const sentAtUs = monoUs();
    for (const chunk of chunksOf(items, this.opts.limits.grpc_batch_items_max)) {
      call.write({ items: chunk, sent_at_us: sentAtUs });
      this.batchesSent++;
      this.itemsSent += chunk.length;
    }
  }

  private down(call: grpc.ClientDuplexStream<WireGatewayBatch, WireChatBatch>, reason: string): void {
    if (this.call !== call) return;
    this.call = null;
    this.pending.clear();
    const wasUp = this.up;
    this.up = false;
    if (wasUp) this.opts.onDown?.(reason);
    if (this.closed) return;
    this.reconnectTimer = setTimeout(() => this.start(), this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, this.opts.limits.chat_link_retry_ms_max);
  }

  /** Unary control calls (registration). */
  unary<Req, Res>(method: UnaryMethod, req: Req, timeoutMs = UNARY_TIMEOUT_MS): Promise<Res> {
    return new Promise((resolve, reject) => {
      const fn = this.client[method] as (r: Req, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: Error | null, r: Res) => void) => void;
      const md = new grpc.Metadata();
      md.set(PEER_AUTH_HEADER, clientProof(this.opts.peerKey, this.opts.gatewayId).proof);
      fn.call(this.client, req, md, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.call?.end();
    this.call?.cancel();
    this.client.close();
  }
}

/** The chat service's unary control calls (proto/chat_service.proto). */
export type UnaryMethod = 'RequestCode' | 'Register' | 'ProvisionUsers' | 'ChatAccess';
/** A control call not answered within this is failed (the HTTP client gets 503 and retries). */
const UNARY_TIMEOUT_MS = 5000;
