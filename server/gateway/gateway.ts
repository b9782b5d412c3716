// The gateway: holds client WebSockets (uWebSockets.js, native binding only)
// and relays between them and the chat service's gRPC stream.
//
// Inbound, per WebSocket message: one copy out of uWS's buffer, split into
// frames, each frame decoded once to validate it at the edge (size limits,
// known type), pings answered here, everything else forwarded as the client's
// own bytes in this turn's GatewayBatch.
// Outbound, per turn: every frame addressed to a socket is queued on it; one
// flush per event-loop turn writes each socket's queue as ONE ServerBatch
// (one WebSocket frame, one syscall under cork). A socket whose send buffer
// passes socket_backpressure_bytes_max is closed (4008): the client reconnects
// and its offline queue replays what it had not acked, so nothing is lost and
// memory stays bounded.
//
// Metrics (server/metrics/gateway-metrics.ts): counters are the plain numbers
// in `stats`, read when /metrics is scraped; the one per-message observation
// is the delivery latency, made in flush() with one clock read per turn.
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
import { TurnBatcher } from '../../lib/turn-batcher';
import { type Limits } from '../common/config';
import { CloseCode, ErrorCode, ProtocolError } from '../common/errors';
import { monoUs, type WireChatBatch } from '../common/grpc-defs';
import { batchEntrySize, ClientFrameType, decodeClientFrame, encodeServerFrame, splitBatch, writeBatchEntry, type ClientFrame } from '../common/protocol';
import { verifyToken } from '../common/token';
import { GatewayMetrics, type ClientFrameKind } from '../metrics/gateway-metrics';
import { createProcessMetrics, type ProcessMetrics } from '../metrics/registry';
import { ChatLink } from './chat-link';
import { loadNativeUws } from './uws';

const REGISTER_BODY_BYTES_MAX = 4096;
/** uWS send() status: the message was refused because the socket is past maxBackpressure. */
const SEND_DROPPED = 2;

interface Conn {
  id: number;
  user: number;
  /** Frames queued for this turn's flush (null when none). */
  out: Uint8Array[] | null;
  outBytes: number;
  closeAfterFlush: boolean;
  closed: boolean;
  /** The flush round that last wrote this socket (delivery latency counts only frames actually written). */
  flushedRound: number;
  tokens: number;
  tokensAtMs: number;
}

export interface GatewayOptions {
  host: string;
  port: number;
  chatTarget: string;
  tokenSecret: string;
  limits: Limits;
  gatewayId: string;
  log?: (line: string) => void;
  /** The process's metrics registry; a fresh one when omitted (tests running a gateway in process). */
  metrics?: ProcessMetrics;
}

export interface GatewayStats {
  /** Connections opened (upgrades accepted) since start. */
  connections: number;
  connectionsClosed: number;
  framesIn: number;
  framesOut: number;
  framesByType: Record<ClientFrameKind, number>;
  wsMessagesIn: number;
  wsMessagesOut: number;
  bytesIn: number;
  bytesOut: number;
  rejected: Record<string, number>;
  backpressureCloses: number;
}

export class Gateway {
  readonly binaryPath: string;
  private readonly app: TemplatedApp;
  private readonly link: ChatLink;
  private listenSocket: us_listen_socket | null = null;
  private readonly sockets = new Map<number, WebSocket<Conn>>();
  private readonly byUser = new Map<number, number[]>();
  /** Sockets with frames queued this turn; flushed once per turn. */
  private readonly dirty = new TurnBatcher<WebSocket<Conn>>((sockets) => this.flush(sockets));
  private nextConnId = 1;
  /** Coalesce a socket's frames per turn into one message (default). WA_GATEWAY_COALESCE=0 turns it off for comparisons. */
  private readonly coalesce = process.env.WA_GATEWAY_COALESCE !== '0';
  port = 0;
  readonly stats: GatewayStats = {
    connections: 0, connectionsClosed: 0, framesIn: 0, framesOut: 0, wsMessagesIn: 0, wsMessagesOut: 0, bytesIn: 0, bytesOut: 0,
    rejected: {}, backpressureCloses: 0,
    framesByType: {
      send: 0, ack: 0, history: 0, presence_subscribe: 0, ping: 0, create_group: 0, group_change: 0, group_info: 0, message_info: 0, invalid: 0,
    },
  };
  readonly processMetrics: ProcessMetrics;
  readonly metrics: GatewayMetrics;
  /** WA_METRICS=0: no delivery-latency observations (cost comparisons). */
  private readonly observeLatency: boolean;
  /** Deliveries queued this turn that carry a receipt time: [recv_at_us, socket] pairs, observed when flushed. */
  private latencyRecvUs: number[] = [];
  private latencyConns: Conn[] = [];
  private flushRound = 0;

  constructor(private readonly opts: GatewayOptions) {
    const { uws, binaryPath } = loadNativeUws();
    this.binaryPath = binaryPath;
    const log = opts.log ?? (() => {});
    this.processMetrics = opts.metrics ?? createProcessMetrics();
    this.observeLatency = this.processMetrics.enabled;
    this.metrics = new GatewayMetrics(this.processMetrics.registry, () => ({
      stats: this.stats,
      openConnections: () => this.sockets.size,
      connectedUsers: () => this.byUser.size,
      chatLinkUp: () => this.link.up,
      chatLink: () => this.link,
    }));
    this.link = new ChatLink({
      target: opts.chatTarget,
      gatewayId: opts.gatewayId,
      itemsMax: opts.limits.grpc_batch_items_max,
      sessions: () => [...this.sockets.values()].map((ws) => ({ conn: ws.getUserData().id, user: ws.getUserData().user })),
      onBatch: (batch) => this.onChatBatch(batch),
      onUp: () => log(`chat link up (${opts.chatTarget})`),
      onDown: (reason) => log(`chat link down: ${reason}`),
    });
    const limits = opts.limits;
    this.app = uws.App();
    this.app.ws<Conn>('/v1/ws', {
      // uWS drops the TCP connection (no close frame) past maxPayloadLength, so
      // it gets headroom and onMessage closes with 1009 at frame_bytes_max: the
      // client learns why. Only a message past twice the limit is cut silently.
      maxPayloadLength: limits.frame_bytes_max * 2,
      idleTimeout: limits.idle_timeout_seconds,
      sendPingsAutomatically: true,
      // Our own check in flush() closes at socket_backpressure_bytes_max with 4008. uWS must not close
      // on its own (it drops the TCP connection without a close frame): past its limit it only refuses
      // the send (status 2), which flush() also turns into a 4008 close.
      maxBackpressure: limits.socket_backpressure_bytes_max + limits.frame_bytes_max,
      closeOnBackpressureLimit: 0,
      upgrade: (res, req, context) => this.onUpgrade(res, req, context),
      open: (ws) => this.onOpen(ws),
      message: (ws, message, isBinary) => this.onMessage(ws, message, isBinary),
      close: (ws) => this.onClose(ws),
    });
    this.app.get('/healthz', (res) => {
      res.cork(() => {
        res.writeHeader('content-type', 'application/json').end(JSON.stringify({
          status: this.link.up ? 'ok' : 'degraded', uws: 'native', uws_binary: this.binaryPath,
          chat_link: this.link.up ? 'up' : 'down', connections: this.sockets.size,
        }));
      });
    });
    this.app.get('/metrics', (res) => this.onMetrics(res));
    this.app.post('/v1/register', (res) => this.onRegister(res));
    this.app.any('/*', (res) => {
      res.cork(() => res.writeStatus('404 Not Found').end('not found\n'));
    });
  }

  async listen(): Promise<number> {
    const { uws } = loadNativeUws();
    await new Promise<void>((resolve, reject) => {
      this.app.listen(this.opts.host, this.opts.port, (socket) => {
        if (!socket) return reject(new Error(`gateway: cannot listen on ${this.opts.host}:${this.opts.port}`));
        this.listenSocket = socket;
        this.port = uws.us_socket_local_port(socket);
        resolve();
      });
    });
    this.link.start();
    return this.port;
  }

  get chatLinkUp(): boolean {
    return this.link.up;
  }

  close(): void {
    const { uws } = loadNativeUws();
    if (this.listenSocket) uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    for (const ws of [...this.sockets.values()]) ws.end(CloseCode.GOING_AWAY, 'gateway shutting down');
    this.link.close();
    this.processMetrics.close();
  }

  // ---------------------------------------------------------------- connections

  private onUpgrade(res: HttpResponse, req: HttpRequest, context: unknown): void {
    const auth = req.getHeader('authorization');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : new URLSearchParams(req.getQuery() ?? '').get('token');
    const claims = verifyToken(this.opts.tokenSecret, token);
    if (!claims) {
      this.count('BAD_TOKEN');
      res.writeStatus('401 Unauthorized').writeHeader('content-type', 'text/plain').end('missing, bad or expired token\n');
      return;
    }
    const conn: Conn = {
      id: this.nextConnId++ >>> 0, user: claims.userId, out: null, outBytes: 0, closeAfterFlush: false, closed: false, flushedRound: 0,
      tokens: this.opts.limits.conn_frames_burst_max, tokensAtMs: Date.now(),
    };
    res.upgrade(conn, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'), context as never);
  }

  private onOpen(ws: WebSocket<Conn>): void {
    const c = ws.getUserData();
    this.sockets.set(c.id, ws);
    const list = this.byUser.get(c.user);
    if (list) list.push(c.id);
    else this.byUser.set(c.user, [c.id]);
    this.stats.connections++;
    this.link.push({ conn: c.id, user: c.user, connected: true, recv_at_us: 0 });
  }

  private onClose(ws: WebSocket<Conn>): void {
    const c = ws.getUserData();
    c.closed = true;
    this.stats.connectionsClosed++;
    this.sockets.delete(c.id);
    const list = this.byUser.get(c.user);
    if (list) {
      const i = list.indexOf(c.id);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byUser.delete(c.user);
    }
    this.link.push({ conn: c.id, user: c.user, disconnected: true, recv_at_us: 0 });
  }

  // ---------------------------------------------------------------- inbound

  private onMessage(ws: WebSocket<Conn>, message: ArrayBuffer, isBinary: boolean): void {
    const c = ws.getUserData();
    if (!isBinary) {
      this.count('TEXT_FRAME');
      ws.end(CloseCode.TEXT_FRAME, 'binary protobuf frames only');
      return;
    }
    if (message.byteLength > this.opts.limits.frame_bytes_max) {
      this.count('MESSAGE_TOO_BIG');
      ws.end(CloseCode.MESSAGE_TOO_BIG, `message over frame_bytes_max=${this.opts.limits.frame_bytes_max}`);
      return;
    }
    const recvAtUs = monoUs();
    this.stats.wsMessagesIn++;
    this.stats.bytesIn += message.byteLength;
    // uWS reuses `message` after we return: copy once, then work on views.
    const buf = Buffer.allocUnsafe(message.byteLength);
    buf.set(new Uint8Array(message));
    let frames: Uint8Array[];
    try {
      frames = splitBatch(buf, this.opts.limits.batch_frames_max);
    } catch (err) {
      this.reject(ws, 0, err);
      return;
    }
    if (!this.takeTokens(c, frames.length)) {
      this.reject(ws, 0, new ProtocolError(ErrorCode.RATE_LIMITED,
        `more than conn_frames_per_second_max=${this.opts.limits.conn_frames_per_second_max} frames/s: batch dropped`));
      return;
    }
    for (const bytes of frames) {
      this.stats.framesIn++;
      let frame: ClientFrame;
      try {
        frame = decodeClientFrame(bytes);
        this.validate(frame);
      } catch (err) {
        this.stats.framesByType.invalid++;
        this.reject(ws, safeRef(bytes), err);
        continue;
      }
      this.stats.framesByType[frame.body]++;
      if (frame.body === 'ping') {
        this.queue(ws, encodeServerFrame({ pong: { ref: frame.ref, client_time_ms: frame.ping.client_time_ms, server_time_ms: Date.now() } }));
        continue;
      }
      if (!this.link.push({ conn: c.id, user: c.user, frame: bytes, recv_at_us: recvAtUs })) {
        if (frame.body !== 'ack') {
          this.reject(ws, frame.ref, new ProtocolError(ErrorCode.UNAVAILABLE, 'chat service unreachable, retry with the same client_msg_id'));
        }
      }
    }
  }

  /** Edge validation: sizes and shapes. Semantics (membership, existence) are the chat service's. */
  private validate(frame: ClientFrame): void {
    const l = this.opts.limits;
    switch (frame.body) {
      case 'send': {
        const s = frame.send;
        if (s.body.length > l.text_bytes_max) {
          throw new ProtocolError(ErrorCode.TEXT_TOO_LONG, `body of ${s.body.length} bytes exceeds text_bytes_max=${l.text_bytes_max}`);
        }
        if (!s.client_msg_id) throw new ProtocolError(ErrorCode.MISSING_FIELD, 'send.client_msg_id is required');
        if (Buffer.byteLength(s.client_msg_id) > l.client_msg_id_bytes_max) {
          throw new ProtocolError(ErrorCode.FIELD_TOO_LONG, `client_msg_id longer than client_msg_id_bytes_max=${l.client_msg_id_bytes_max}`);
        }
        if (!s.to_user && !s.chat_id) throw new ProtocolError(ErrorCode.MISSING_FIELD, 'send needs to_user (or chat_id)');
        if (s.chat_id && Buffer.byteLength(s.chat_id) > l.chat_id_bytes_max) {
          throw new ProtocolError(ErrorCode.FIELD_TOO_LONG, `chat_id longer than chat_id_bytes_max=${l.chat_id_bytes_max}`);
        }
        return;
      }
      case 'ack':
      case 'history': {
        const chatId = frame.body === 'ack' ? frame.ack.chat_id : frame.history.chat_id;
        if (!chatId) throw new ProtocolError(ErrorCode.MISSING_FIELD, `${frame.body}.chat_id is required`);
        if (Buffer.byteLength(chatId) > l.chat_id_bytes_max) {
          throw new ProtocolError(ErrorCode.FIELD_TOO_LONG, `chat_id longer than chat_id_bytes_max=${l.chat_id_bytes_max}`);
        }
        return;
      }
      case 'presence_subscribe':
        if (frame.presence_subscribe.user_ids.length > l.presence_watch_max) {
          throw new ProtocolError(ErrorCode.TOO_MANY_WATCHED,
            `${frame.presence_subscribe.user_ids.length} users exceed presence_watch_max=${l.presence_watch_max}`);
        }
        return;
      case 'create_group': {
        const g = frame.create_group;
        if (Buffer.byteLength(g.name ?? '') > l.group_name_bytes_max) {
          throw new ProtocolError(ErrorCode.FIELD_TOO_LONG, `group name longer than group_name_bytes_max=${l.group_name_bytes_max}`);
        }
        if (g.members.length + 1 > l.group_members_max) {
          throw new ProtocolError(ErrorCode.GROUP_FULL, `${g.members.length + 1} members exceed group_members_max=${l.group_members_max}`);
        }
        return;
      }
      case 'group_change': {
        const g = frame.group_change;
        this.checkChatId(g.chat_id);
        if (g.users.length > l.group_members_max) {
          throw new ProtocolError(ErrorCode.INVALID_ARGUMENT, `more than group_members_max=${l.group_members_max} users in one change`);
        }
        if (Buffer.byteLength(g.name ?? '') > l.group_name_bytes_max) {
          throw new ProtocolError(ErrorCode.FIELD_TOO_LONG, `group name longer than group_name_bytes_max=${l.group_name_bytes_max}`);
        }
        return;
      }
      case 'group_info':
        this.checkChatId(frame.group_info.chat_id);
        return;
      case 'message_info':
        this.checkChatId(frame.message_info.chat_id);
        return;
      case 'ping':
        return;
    }
  }

  private checkChatId(chatId: string): void {
    if (!chatId) throw new ProtocolError(ErrorCode.MISSING_FIELD, 'chat_id is required');
    if (Buffer.byteLength(chatId) > this.opts.limits.chat_id_bytes_max) {
      throw new ProtocolError(ErrorCode.FIELD_TOO_LONG, `chat_id longer than chat_id_bytes_max=${this.opts.limits.chat_id_bytes_max}`);
    }
  }

  private takeTokens(c: Conn, n: number): boolean {
    const l = this.opts.limits;
    const now = Date.now();
    const elapsedMs = now - c.tokensAtMs;
    if (elapsedMs > 0) {
      c.tokens = Math.min(l.conn_frames_burst_max, c.tokens + (elapsedMs * l.conn_frames_per_second_max) / 1000);
      c.tokensAtMs = now;
    }
    if (c.tokens < n) return false;
    c.tokens -= n;
    return true;
  }

  private reject(ws: WebSocket<Conn>, ref: number, err: unknown): void {
    const code = err instanceof ProtocolError ? err.code : ErrorCode.INTERNAL;
    this.count(code);
    this.queue(ws, encodeServerFrame({ error: { ref, code, message: err instanceof Error ? err.message : String(err) } }));
  }

  private count(reason: string): void {
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1;
  }

  // ---------------------------------------------------------------- outbound

  private onChatBatch(batch: WireChatBatch): void {
    if (this.observeLatency) this.metrics.chatBatchItems.observe(batch.items.length);
    for (const item of batch.items) {
      const frame = item.frame;
      const recvAtUs = item.recv_at_us;
      if (item.users.length > 0) {
        for (const user of item.users) {
          const conns = this.byUser.get(user);
          if (!conns) continue;
          for (const id of conns) {
            const ws = this.sockets.get(id);
            if (ws) this.queue(ws, frame, item.close, recvAtUs);
          }
        }
      }
      for (const id of item.conns) {
        const ws = this.sockets.get(id);
        if (ws) this.queue(ws, frame, item.close, recvAtUs);
      }
    }
  }

  /** recvAtUs > 0: a delivery whose latency (gateway receipt of the send -> this socket written) is observed at flush. */
  private queue(ws: WebSocket<Conn>, frame: Uint8Array, close = false, recvAtUs = 0): void {
    const c = ws.getUserData();
    if (c.closed) return;
    if (close) c.closeAfterFlush = true;
    if (recvAtUs > 0 && this.observeLatency) {
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
  private flush(dirty: WebSocket<Conn>[]): void {
    const round = ++this.flushRound;
    const limit = this.opts.limits.socket_backpressure_bytes_max;
    for (const ws of dirty) {
      const c = ws.getUserData();
      const frames = c.out;
      c.out = null;
      if (c.closed || frames === null) continue;
      let dropped = false;
      if (this.coalesce) {
        const buf = Buffer.allocUnsafe(c.outBytes);
        let at = 0;
        for (const f of frames) at = writeBatchEntry(buf, at, f);
        ws.cork(() => {
          if (ws.send(buf, true) === SEND_DROPPED) dropped = true;
        });
        this.stats.wsMessagesOut++;
      } else {
        // Benchmark comparison only (WA_GATEWAY_COALESCE=0): one WebSocket message and one write per frame.
        for (const f of frames) {
          const one = Buffer.allocUnsafe(batchEntrySize(f.length));
          writeBatchEntry(one, 0, f);
          if (ws.send(one, true) === SEND_DROPPED) dropped = true;
          this.stats.wsMessagesOut++;
        }
      }
      c.flushedRound = round;
      this.stats.framesOut += frames.length;
      this.stats.bytesOut += c.outBytes;
      if (c.closeAfterFlush) {
        ws.end(CloseCode.GOING_AWAY, 'closed by server');
      } else if (dropped || ws.getBufferedAmount() > limit) {
        this.stats.backpressureCloses++;
        this.count('BACKPRESSURE');
        ws.end(CloseCode.BACKPRESSURE, `send buffer over socket_backpressure_bytes_max=${limit}: reconnect to resync`);
      }
    }
    if (this.latencyRecvUs.length > 0) this.observeDeliveries(round);
  }

  /** One clock read for the whole turn; frames to sockets that closed before the flush are not deliveries. */
  private observeDeliveries(round: number): void {
    const nowUs = monoUs();
    const recv = this.latencyRecvUs;
    const conns = this.latencyConns;
    const hist = this.metrics.deliveryLatency;
    for (let i = 0; i < recv.length; i++) {
      if (conns[i]!.flushedRound === round) hist.observe((nowUs - recv[i]!) / 1e6);
    }
    recv.length = 0;
    conns.length = 0;
  }

  // ---------------------------------------------------------------- metrics (HTTP)

  private onMetrics(res: HttpResponse): void {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    const registry = this.processMetrics.registry;
    registry.metrics().then(
      (text) => {
        if (!aborted) res.cork(() => res.writeHeader('content-type', registry.contentType).end(text));
      },
      (err: Error) => {
        if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end(`${err.message}\n`));
      },
    );
  }

  // ---------------------------------------------------------------- registration (HTTP)

  private onRegister(res: HttpResponse): void {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      if (aborted) return;
      size += chunk.byteLength;
      if (size > REGISTER_BODY_BYTES_MAX) {
        aborted = true;
        res.cork(() => res.writeStatus('413 Payload Too Large').end('body too large\n', true));
        return;
      }
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (!isLast) return;
      let body: { phone?: unknown; display_name?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        res.cork(() => res.writeStatus('400 Bad Request').end(JSON.stringify({ error: 'INVALID_ARGUMENT', message: 'body must be JSON' })));
        return;
      }
      this.link
        .unary<{ phone: string; display_name: string }, { user_id: number; token: string; error_code: string; error_message: string }>(
          'Register', { phone: String(body.phone ?? ''), display_name: String(body.display_name ?? '') })
        .then(
          (r) => {
            if (aborted) return;
            res.cork(() => {
              if (r.error_code) {
                res.writeStatus('400 Bad Request').writeHeader('content-type', 'application/json')
                  .end(JSON.stringify({ error: r.error_code, message: r.error_message }));
              } else {
                res.writeHeader('content-type', 'application/json').end(JSON.stringify({ user_id: r.user_id, token: r.token }));
              }
            });
          },
          (err: Error) => {
            if (aborted) return;
            res.cork(() => res.writeStatus('503 Service Unavailable').end(JSON.stringify({ error: 'UNAVAILABLE', message: err.message })));
          },
        );
    });
  }
}

/** The ref of a frame that failed validation (even one with no known body), or 0 if it does not decode at all. */
function safeRef(bytes: Uint8Array): number {
  try {
    return (ClientFrameType.decode(bytes) as unknown as { ref?: number }).ref ?? 0;
  } catch {
    return 0;
  }
}
