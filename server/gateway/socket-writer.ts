// The gateway's outbound side: every frame addressed to a socket during a turn
// is queued on it; one flush per event-loop turn writes each socket's queue as
// ONE ServerBatch (one WebSocket message, one syscall under cork). A socket
// whose send buffer passes socket_backpressure_bytes_max is closed (4008): the
// client reconnects and its offline queue replays what it had not acked, so
// nothing is lost and memory stays bounded.
//
// The one per-message metric observation is the delivery latency, made in the
// flush with one clock read per turn, and only for frames actually written.
import type { WebSocket } from 'uWebSockets.js';
import { invariant } from '../../lib/invariant';
import { TurnBatcher } from '../../lib/turn-batcher';
import { CloseCode } from '../common/errors';
import { monoUs } from '../common/grpc-defs';
import { batchEntrySize, writeBatchEntry } from '../common/protocol';
import type { HistogramSeries } from '../metrics/fast-histogram';
import { countRejection, type GatewayStats } from './stats';

/** uWS send() status: the message was refused because the socket is past maxBackpressure. */
const SEND_DROPPED = 2;

/** What the writer keeps on each socket (part of the socket's user data). */
export interface OutboundState {
  /** Frames queued for this turn's flush (null when none). */
  out: Uint8Array[] | null;
  outBytes: number;
  closeAfterFlush: boolean;
  closed: boolean;
  /** The flush round that last wrote this socket (delivery latency counts only frames actually written). */
  flushedRound: number;
}

export function newOutboundState(): OutboundState {
  return { out: null, outBytes: 0, closeAfterFlush: false, closed: false, flushedRound: 0 };
}

export interface SocketWriterOptions {
  backpressureBytesMax: number;
  /** One WebSocket message per socket per turn (default); false: one per frame (benchmark comparisons only). */
  coalesce: boolean;
  stats: GatewayStats;
  /** Delivery latency (gateway receipt of the send -> this socket written); null: not observed (WA_METRICS=0). */
  deliveryLatency: HistogramSeries | null;
}

export class SocketWriter<C extends OutboundState> {
  /** Sockets with frames queued this turn; flushed once per turn. */
  private readonly dirty = new TurnBatcher<WebSocket<C>>((sockets) => this.flush(sockets));
  /** Deliveries queued this turn that carry a receipt time: [recv_at_us, socket] pairs, observed when flushed. */
  private latencyRecvUs: number[] = [];
  private latencyConns: C[] = [];
  private flushRound = 0;

  constructor(private readonly opts: SocketWriterOptions) {}

  /** recvAtUs > 0: a delivery whose latency is observed when the socket is written. */
  queue(ws: WebSocket<C>, frame: Uint8Array, close = false, recvAtUs = 0): void {
    const c = ws.getUserData();
    if (c.closed) return;
    if (close) c.closeAfterFlush = true;
    if (recvAtUs > 0 && this.opts.deliveryLatency) {
      this.latencyRecvUs.push(recvAtUs);
      this.latencyConns.push(c);
    }
    if (c.out === null) {
      c.out = [frame];
      c.outBytes = batchEntrySize(frame.length);
      this.dirty.push(ws);
    } else {
      c.out.push(frame);
      c.outBytes += batchEntrySize(frame.length);
    }
  }

  /** Once per turn: each dirty socket gets its frames as one ServerBatch. */
  private flush(dirty: WebSocket<C>[]): void {
    const round = ++this.flushRound;
    const { stats } = this.opts;
    const limit = this.opts.backpressureBytesMax;
    for (const ws of dirty) {
      const c = ws.getUserData();
      const frames = c.out;
      c.out = null;
      if (c.closed || frames === null) continue;
      const dropped = this.opts.coalesce ? this.writeOne(ws, frames, c.outBytes) : this.writeEach(ws, frames);
      c.flushedRound = round;
      stats.framesOut += frames.length;
      stats.bytesOut += c.outBytes;
      if (c.closeAfterFlush) {
        ws.end(CloseCode.GOING_AWAY, 'closed by server');
      } else if (dropped || ws.getBufferedAmount() > limit) {
        stats.backpressureCloses++;
        countRejection(stats, 'BACKPRESSURE');
        ws.end(CloseCode.BACKPRESSURE, `send buffer over socket_backpressure_bytes_max=${limit}: reconnect to resync`);
      }
    }
    if (this.latencyRecvUs.length > 0) this.observeDeliveries(round);
  }

  /** The socket's frames as one WebSocket message; returns whether uWS refused it (past its backpressure limit). */
  private writeOne(ws: WebSocket<C>, frames: Uint8Array[], bytes: number): boolean {
    const buf = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const f of frames) at = writeBatchEntry(buf, at, f);
    invariant(at === bytes, 'a socket batch fills exactly the bytes counted for it');
    let dropped = false;
    ws.cork(() => {
      if (ws.send(buf, true) === SEND_DROPPED) dropped = true;
    });
    this.opts.stats.wsMessagesOut++;
    return dropped;
  }

  /** Benchmark comparison only (WA_GATEWAY_COALESCE=0): one WebSocket message and one write per frame. */
  private writeEach(ws: WebSocket<C>, frames: Uint8Array[]): boolean {
    let dropped = false;
    for (const f of frames) {
      const one = Buffer.allocUnsafe(batchEntrySize(f.length));
      writeBatchEntry(one, 0, f);
      if (ws.send(one, true) === SEND_DROPPED) dropped = true;
      this.opts.stats.wsMessagesOut++;
    }
    return dropped;
  }

  /** One clock read for the whole turn; frames to sockets that closed before the flush are not deliveries. */
  private observeDeliveries(round: number): void {
    const nowUs = monoUs();
    const recv = this.latencyRecvUs;
    const conns = this.latencyConns;
    const hist = this.opts.deliveryLatency!;
    for (let i = 0; i < recv.length; i++) {
      if (conns[i]!.flushedRound === round) hist.observe((nowUs - recv[i]!) / 1e6);
    }
    recv.length = 0;
    conns.length = 0;
  }
}
