// The gateway: holds client WebSockets (uWebSockets.js, native binding only)
// and relays between them and the chat service's gRPC stream.
//
// Inbound, per WebSocket message: one copy out of uWS's buffer, split into
// frames, each frame decoded once and validated at the edge
// (server/common/validation.ts, via inbound-frame.ts), pings answered here, everything else
// forwarded as the client's own bytes in this turn's GatewayBatch.
// Outbound: socket-writer.ts (one WebSocket message per socket per turn).
// Registration: register-endpoint.ts.
//
// Metrics (server/metrics/gateway-metrics.ts): counters are the plain numbers
// in `stats` (stats.ts), read when /metrics is scraped.
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
import { gatewayCoalesce, type Limits } from '../common/config';
import { CloseCode, ErrorCode, ProtocolError } from '../common/errors';
import { monoUs, outboundItemOk, type WireChatBatch, type WireInbound } from '../common/grpc-defs';
import { encodeServerFrame, splitBatch, type ClientFrame } from '../common/protocol';
import { verifyToken } from '../common/token';
import { peerKey } from '../common/peer-auth';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import { createProcessMetrics, type ProcessMetrics } from '../metrics/registry';
import { partitionOfFrame } from '../common/frame-partition';
import type { ChatLink } from './chat-link';
import { SingleRouter, type ChatRouter, type FrameRoute } from './chat-router';
import { ClusterRouter } from './cluster-router';
import { connectDirectory, type DirectoryClient } from '../directory/connect';
import { RoutePublisher } from '../directory/publisher';
import { MediaEndpoint, type MediaOptions } from './media-endpoint';
import { handleCodeRequest, handleRegister } from './register-endpoint';
import { newOutboundState, SocketWriter, type OutboundState } from './socket-writer';
import { InboundReject, readInboundFrame } from './inbound-frame';
import { countRejection, newGatewayStats, type GatewayStats } from './stats';
import { loadNativeUws } from './uws';

export type { GatewayStats } from './stats';

interface Conn extends OutboundState {
  id: number;
  user: number;
}

/**
 * One user's connections on this gateway and their shared token bucket (user_frames_per_second_max): more
 * connections do not mean more frames. Dropped with the user's last connection; a reconnect starts at the burst.
 */
interface UserSlot {
  conns: number[];
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
  /** One WebSocket message per socket per turn (default: WA_GATEWAY_COALESCE, on). */
  coalesce?: boolean;
  /** Cluster mode: etcd endpoints (chat nodes and partition owners); chatTarget is then unused. */
  clusterEtcd?: string;
  /** The routes and presence directory (server/directory): every session is published there. */
  redisUrl?: string;
  /** Load balancers whose X-Forwarded-For names the client (WA_TRUSTED_PROXIES). */
  trustedProxies?: string[];
  /** Test aid WA_DEBUG_SLOWDOWN_WORK (server/common/debug-slowdown.ts): work units per inbound frame; 0 in production. */
  debugSlowdownWork?: number;
  /** Media upload and download (media-endpoint.ts); absent: no media routes. */
  media?: MediaOptions;
}

export class Gateway {
  readonly binaryPath: string;
  private readonly app: TemplatedApp;
  private readonly router: ChatRouter;
  private directory: DirectoryClient | null = null;
  private publisher: RoutePublisher | null = null;
  private listenSocket: us_listen_socket | null = null;
  private readonly sockets = new Map<number, WebSocket<Conn>>();
  private readonly byUser = new Map<number, UserSlot>();
  private readonly writer: SocketWriter<Conn>;
  private nextConnId = 1;
  /** SIGTERM seen: /healthz answers 503 (the load balancer stops sending sockets here) and upgrades are refused. */
  private draining = false;
  port = 0;
  readonly stats: GatewayStats = newGatewayStats();
  readonly processMetrics: ProcessMetrics;
  readonly metrics: GatewayMetrics;
  readonly media: MediaEndpoint | null;

  constructor(private readonly opts: GatewayOptions) {
    const { uws, binaryPath } = loadNativeUws();
    this.binaryPath = binaryPath;
    const log = opts.log ?? (() => {});
    this.processMetrics = opts.metrics ?? createProcessMetrics();
    this.metrics = new GatewayMetrics(this.processMetrics.registry, () => ({
      stats: this.stats,
      openConnections: () => this.sockets.size, connectedUsers: () => this.byUser.size, chatLinkUp: () => this.router.up,
      chatLink: () => sumLinks(this.router.links()),
      media: () => (this.media ? { stats: this.media.stats, uploadsOpen: this.media.uploadsOpen } : null),
    }));
    this.writer = new SocketWriter<Conn>({
      backpressureBytesMax: opts.limits.socket_backpressure_bytes_max,
      coalesce: opts.coalesce ?? gatewayCoalesce(),
      stats: this.stats,
      // WA_METRICS=0: no delivery-latency observations (cost comparisons).
      deliveryLatency: this.processMetrics.enabled ? this.metrics.deliveryLatency.unlabelled : null,
    });
    const callbacks = {
      peerKey: peerKey(opts.tokenSecret),
      sessions: () => [...this.sockets.values()].map((ws) => ({ conn: ws.getUserData().id, user: ws.getUserData().user })),
      onBatch: (batch: WireChatBatch) => this.onChatBatch(batch),
      onUp: () => log(`chat link up (${opts.chatTarget})`),
      onDown: (reason: string) => log(`chat link down: ${reason}`),
    };
    this.router = opts.clusterEtcd
      ? new ClusterRouter({
        ...callbacks, etcd: opts.clusterEtcd, gatewayId: opts.gatewayId, limits: opts.limits, log,
        closeConns: (conns, reason) => this.closeConns(conns, reason),
      })
      : new SingleRouter({ ...callbacks, target: opts.chatTarget, gatewayId: opts.gatewayId, limits: opts.limits });
    const limits = opts.limits;
    this.app = uws.App();
    this.app.ws<Conn>('/v1/ws', {
      // uWS drops the TCP connection (no close frame) past maxPayloadLength, so
      // it gets headroom and onMessage closes with 1009 at frame_bytes_max: the
      // client learns why. Only a message past twice the limit is cut silently.
      maxPayloadLength: limits.frame_bytes_max * 2,
      idleTimeout: limits.idle_timeout_seconds,
      sendPingsAutomatically: true,
      // Our own check (socket-writer.ts) closes at socket_backpressure_bytes_max with 4008. uWS must not close
      // on its own (it drops the TCP connection without a close frame): past its limit it only refuses
      // the send (status 2), which the writer also turns into a 4008 close.
      maxBackpressure: limits.socket_backpressure_bytes_max + limits.frame_bytes_max,
      closeOnBackpressureLimit: 0,
      upgrade: (res, req, context) => this.onUpgrade(res, req, context),
      open: (ws) => this.onOpen(ws),
      message: (ws, message, isBinary) => this.onMessageGuarded(ws, message, isBinary),
      close: (ws) => this.onClose(ws),
    });
    this.app.get('/healthz', (res) => {
      res.cork(() => {
        if (this.draining) res.writeStatus('503 Service Unavailable');
        res.writeHeader('content-type', 'application/json').end(JSON.stringify({
          status: this.draining ? 'draining' : this.router.up ? 'ok' : 'degraded', uws: 'native', uws_binary: this.binaryPath,
          chat_link: this.router.up ? 'up' : 'down', connections: this.sockets.size, backpressure_closes: this.stats.backpressureCloses,
          ...this.router.health(), ...this.mediaHealth(),
        }));
      });
    });
    this.app.get('/metrics', (res) => this.onMetrics(res));
    const endpoint = { limits, trustedProxies: new Set(opts.trustedProxies ?? []) };
    this.app.post('/v1/register/code', (res, req) => handleCodeRequest(res, req, endpoint, (r) => this.router.unary('RequestCode', r, r.phone)));
    this.app.post('/v1/register', (res, req) => handleRegister(res, req, endpoint, (r) => this.router.unary('Register', r, r.phone)));
    this.media = opts.media ? this.mountMedia(opts.media, log) : null;
    this.app.any('/*', (res) => {
      res.cork(() => res.writeStatus('404 Not Found').end('not found\n'));
    });
  }

  private mediaHealth(): object {
    return this.media ? { media: { ...this.media.stats, uploads_open: this.media.uploadsOpen } } : {};
  }

  /** Media upload and download routes (media-endpoint.ts); membership comes from the chat service (ChatAccess). */
  private mountMedia(media: MediaOptions, log: (line: string) => void): MediaEndpoint {
    const endpoint = new MediaEndpoint({
      ...media, tokenSecret: this.opts.tokenSecret, log,
      access: (user, chatId) => this.router.unary('ChatAccess', { user, chat_id: chatId }, chatId),
    });
    endpoint.mount(this.app);
    endpoint.start();
    return endpoint;
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
    await this.router.start();
    if (this.opts.redisUrl) {
      this.directory = await connectDirectory(this.opts.redisUrl, { name: 'gateway' });
      // A nonce per start: two incarnations of one gateway never share connection ids in the directory.
      this.publisher = await RoutePublisher.start(this.directory, {
        gatewayId: `${this.opts.gatewayId}#${Date.now().toString(36)}`, log: (line) => this.opts.log?.(`directory: ${line}`),
      });
      for (const ws of this.sockets.values()) this.publisher.connected(ws.getUserData().id, ws.getUserData().user);
    }
    return this.port;
  }

  get chatLinkUp(): boolean {
    return this.router.up;
  }

  /** Open client sockets now. */
  get openSockets(): number {
    return this.sockets.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Stop taking sockets (503 on /healthz and on upgrades); the ones held keep working until close(). */
  startDrain(): void {
    this.draining = true;
  }

  /**
   * Close every socket with 1001 (the client reconnects, through the load balancer, elsewhere), let
   * this turn's disconnects reach the chat service, then close the link. Resolves when that is done.
   */
  async close(): Promise<void> {
    const { uws } = loadNativeUws();
    this.draining = true;
    if (this.listenSocket) uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    for (const ws of [...this.sockets.values()]) ws.end(CloseCode.GOING_AWAY, 'gateway shutting down');
    // The link's batcher flushes on setImmediate: one more turn and the disconnects are written.
    await new Promise((resolve) => setImmediate(resolve));
    this.router.close();
    await this.publisher?.close().catch(() => {});
    this.directory?.close();
    await this.media?.close();
    this.processMetrics.close();
  }

  // ---------------------------------------------------------------- connections

  private onUpgrade(res: HttpResponse, req: HttpRequest, context: unknown): void {
    if (this.draining) {
      this.count('DRAINING');
      res.writeStatus('503 Service Unavailable').writeHeader('content-type', 'text/plain').end('gateway draining: reconnect\n');
      return;
    }
    const auth = req.getHeader('authorization');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : new URLSearchParams(req.getQuery() ?? '').get('token');
    const claims = verifyToken(this.opts.tokenSecret, token);
    if (!claims) {
      this.count('BAD_TOKEN');
      res.writeStatus('401 Unauthorized').writeHeader('content-type', 'text/plain').end('missing, bad or expired token\n');
      return;
    }
    const held = this.byUser.get(claims.userId)?.conns.length ?? 0;
    if (held >= this.opts.limits.user_connections_max) {
      this.count(ErrorCode.TOO_MANY_CONNECTIONS);
      res.writeStatus('429 Too Many Requests').writeHeader('content-type', 'text/plain')
        .end(`${ErrorCode.TOO_MANY_CONNECTIONS}: user_connections_max=${this.opts.limits.user_connections_max} connections already open for this user\n`);
      return;
    }
    if (!this.router.up) {
      // A session opened now would never reach the chat service (the link's hello listed the sessions of its
      // start): its sends would go unanswered and its deliveries to an offline queue nobody drains. Refuse; the
      // client retries (a restarted gateway listens before its link is up).
      this.count(ErrorCode.UNAVAILABLE);
      res.writeStatus('503 Service Unavailable').writeHeader('content-type', 'text/plain').end('chat service unreachable, retry\n');
      return;
    }
    const conn: Conn = {
      ...newOutboundState(), id: this.nextConnId++ >>> 0, user: claims.userId,
    };
    res.upgrade(conn, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'), context as never);
  }

  private onOpen(ws: WebSocket<Conn>): void {
    const c = ws.getUserData();
    this.sockets.set(c.id, ws);
    const slot = this.byUser.get(c.user);
    if (slot) slot.conns.push(c.id);
    else this.byUser.set(c.user, { conns: [c.id], tokens: this.opts.limits.user_frames_burst_max, tokensAtMs: Date.now() });
    this.stats.connections++;
    this.router.session({ conn: c.id, user: c.user, connected: true, recv_at_us: 0 });
    this.publisher?.connected(c.id, c.user);
  }

  private onClose(ws: WebSocket<Conn>): void {
    const c = ws.getUserData();
    c.closed = true;
    this.stats.connectionsClosed++;
    this.sockets.delete(c.id);
    const slot = this.byUser.get(c.user);
    if (slot) {
      const i = slot.conns.indexOf(c.id);
      if (i >= 0) slot.conns.splice(i, 1);
      if (slot.conns.length === 0) this.byUser.delete(c.user);
    }
    this.router.session({ conn: c.id, user: c.user, disconnected: true, recv_at_us: 0 });
    this.publisher?.disconnected(c.id, c.user);
  }

  // ---------------------------------------------------------------- inbound

  /**
   * The last line behind the edge's checks: an exception while handling one client's message (a bug
   * the fuzzers have not found yet) would run out of uWS's callback and end the process, dropping
   * every connection on it. It ends that one connection (1011) instead, counted and logged.
   */
  private onMessageGuarded(ws: WebSocket<Conn>, message: ArrayBuffer, isBinary: boolean): void {
    try {
      this.onMessage(ws, message, isBinary);
    } catch (err) {
      this.count(ErrorCode.INTERNAL);
      this.opts.log?.(`internal error on a client message, connection closed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      try {
        ws.end(CloseCode.INTERNAL_ERROR, 'internal error');
      } catch {
        // already closed by the handler that threw
      }
    }
  }

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
    if (!this.takeTokens(c.user, frames.length)) {
      this.reject(ws, 0, new ProtocolError(ErrorCode.RATE_LIMITED,
        `more than user_frames_per_second_max=${this.opts.limits.user_frames_per_second_max} frames/s across this user's connections: batch dropped`));
      return;
    }
    for (const bytes of frames) {
      this.stats.framesIn++;
      const frame = readInboundFrame(bytes, this.opts.limits, this.opts.debugSlowdownWork);
      if (frame instanceof InboundReject) {
        this.stats.framesByType.invalid++;
        this.reject(ws, frame.ref, frame.error);
        continue;
      }
      this.stats.framesByType[frame.body]++;
      if (frame.body === 'ping') {
        this.writer.queue(ws, encodeServerFrame({ pong: { ref: frame.ref, client_time_ms: frame.ping.client_time_ms, server_time_ms: Date.now() } }));
        continue;
      }
      const item = { conn: c.id, user: c.user, frame: bytes, recv_at_us: recvAtUs };
      const isAck = frame.body === 'ack';
      // One chat service (the default): no partition to compute, nothing is ever held.
      const route = this.router.byPartition ? this.routeToOwner(ws, c, frame, item, isAck) : this.router.frame(-1, item, noGiveUp);
      if (route === 'unavailable' && !isAck) {
        this.reject(ws, frame.ref, new ProtocolError(ErrorCode.UNAVAILABLE, 'chat service unreachable, retry with the same client_msg_id'));
      }
    }
  }

  /** Cluster mode: to the owner of the frame's partition; a frame held past the bound is answered UNAVAILABLE. */
  private routeToOwner(ws: WebSocket<Conn>, c: Conn, frame: ClientFrame, item: WireInbound, isAck: boolean): FrameRoute {
    const ref = frame.ref;
    return this.router.frame(partitionOfFrame(frame, c.user), item, () => {
      if (!c.closed && !isAck) this.reject(ws, ref, new ProtocolError(ErrorCode.UNAVAILABLE, 'partition without an owner too long, retry with the same client_msg_id'));
    });
  }

  private takeTokens(user: number, n: number): boolean {
    const l = this.opts.limits;
    const c = this.byUser.get(user);
    if (!c) return false; // closed meanwhile
    const now = Date.now();
    const elapsedMs = now - c.tokensAtMs;
    if (elapsedMs > 0) {
      c.tokens = Math.min(l.user_frames_burst_max, c.tokens + (elapsedMs * l.user_frames_per_second_max) / 1000);
      c.tokensAtMs = now;
    }
    if (c.tokens < n) return false;
    c.tokens -= n;
    return true;
  }

  private reject(ws: WebSocket<Conn>, ref: number, err: unknown): void {
    const code = err instanceof ProtocolError ? err.code : ErrorCode.INTERNAL;
    this.count(code);
    this.writer.queue(ws, encodeServerFrame({ error: { ref, code, message: err instanceof Error ? err.message : String(err) } }));
  }

  private count(reason: string): void {
    countRejection(this.stats, reason);
  }

  // ---------------------------------------------------------------- outbound

  private onChatBatch(batch: WireChatBatch): void {
    if (this.processMetrics.enabled) this.metrics.chatBatchItems.observe(batch.items.length);
    for (const item of batch.items) {
      if (!outboundItemOk(item)) {
        this.count('MALFORMED_STREAM_ITEM');
        continue;
      }
      const frame = item.frame;
      const recvAtUs = item.recv_at_us;
      if (item.users.length > 0) {
        for (const user of item.users) {
          const slot = this.byUser.get(user);
          if (!slot) continue;
          for (const id of slot.conns) {
            const ws = this.sockets.get(id);
            if (ws) this.writer.queue(ws, frame, item.close, recvAtUs);
          }
        }
      }
      for (const id of item.conns) {
        const ws = this.sockets.get(id);
        if (ws) this.writer.queue(ws, frame, item.close, recvAtUs);
      }
    }
  }

  /** Close connections whose in-flight frames a chat node lost or refused (cluster-router.ts): clients resend in order. */
  private closeConns(conns: number[], reason: string): void {
    for (const id of conns) this.sockets.get(id)?.end(CloseCode.CHAT_NODE_CHANGED, reason.slice(0, 100));
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
}

const noGiveUp = (): void => {};

/** The links' counters together (/metrics: one chat service or several chat nodes). */
function sumLinks(links: readonly ChatLink[]): { batchesSent: number; itemsSent: number } {
  let batchesSent = 0;
  let itemsSent = 0;
  for (const l of links) {
    batchesSent += l.batchesSent;
    itemsSent += l.itemsSent;
  }
  return { batchesSent, itemsSent };
}
