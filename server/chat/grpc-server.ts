// The chat service's gRPC face: one Connect stream per gateway (the hot path)
// plus the unary control calls. A GatewayLink gathers everything the engine
// addresses to one gateway during a turn and writes it as one ChatBatch (split
// at grpc_batch_items_max) once per event-loop turn.
import * as grpc from '@grpc/grpc-js';
import { chunksOf, TurnBatcher } from '../../lib/turn-batcher';
import { type Limits } from '../common/config';
import { ProtocolError } from '../common/errors';
import { chatServiceDefinition, monoUs, streamChannelOptions, type WireChatBatch, type WireGatewayBatch, type WireOutbound } from '../common/grpc-defs';
import { mintToken } from '../common/token';
import { PROVISIONED_USER_ID_MIN } from '../common/ids';
import { phoneOf, provisionProblem, registrationOf, sourceOf } from '../common/validation';
import { NoCodeSender, type CodeSender } from './code-sender';
import { PhoneVerification } from './verification';
import type { MessageStore } from '../store/store';
import type { ChatHotMetrics } from '../metrics/chat-metrics';
import type { HistogramSeries } from '../metrics/fast-histogram';
import type { ClusterSettings } from '../common/config';
import { connectDirectory, type DirectoryClient } from '../directory/connect';
import { RouteReplica } from '../directory/replica';
import { ClusterNode } from './cluster-node';
import { chatAccess } from './media-access';
import { PEER_AUTH_HEADER, peerKey, serverProof, verifyClientProof } from '../common/peer-auth';
import { ChatEngine } from './engine';
import { helloOf, inboundEventOf } from './stream-intake';
import type { LinkSink, OutboundInit } from './wire';

export class GatewayLink implements LinkSink {
  private readonly pending = new TurnBatcher<WireOutbound>((items) => this.flush(items));
  /** Cluster mode: the newest gateway batch fully handled, sent with the next ChatBatch. */
  private processedUpToUs = 0;
  private markUnsent = false;
  batchesSent = 0;
  itemsSent = 0;

  constructor(
    readonly id: string,
    private readonly call: grpc.ServerDuplexStream<WireGatewayBatch, WireChatBatch>,
    private readonly itemsMax: number,
    /** Items per written stream message (metrics; null when off). */
    private readonly batchItems: HistogramSeries | null = null,
  ) {}

  push(item: OutboundInit): void {
    this.pending.push({
      frame: item.frame, users: item.users ?? [], conns: item.conns ?? [], recv_at_us: item.recv_at_us ?? 0, close: item.close ?? false,
    });
  }

  markProcessed(us: number): void {
    if (us <= this.processedUpToUs) return;
    this.processedUpToUs = us;
    if (this.markUnsent) return;
    this.markUnsent = true;
    // Rides on this turn's batch when there is one; otherwise an empty batch carries it.
    setImmediate(() => {
      if (this.markUnsent && !this.call.cancelled && !this.call.destroyed) this.call.write({ items: [], processed_up_to_us: this.processedUpToUs });
      this.markUnsent = false;
    });
  }

  private flush(items: WireOutbound[]): void {
    if (this.call.cancelled || this.call.destroyed) return;
    for (const chunk of chunksOf(items, this.itemsMax)) {
      const mark = this.markUnsent ? this.processedUpToUs : 0;
      this.markUnsent = false;
      this.call.write(mark ? { items: chunk, processed_up_to_us: mark } : { items: chunk });
      this.batchItems?.observe(chunk.length);
      this.batchesSent++;
      this.itemsSent += chunk.length;
    }
  }
}

export interface ChatServerOptions {
  store: MessageStore;
  limits: Limits;
  tokenSecret: string;
  host: string;
  port: number;
  log?: (line: string) => void;
  /** Log every drain step (WA_DEBUG_DRAIN=1). */
  debugDrain?: boolean;
  /** Per-batch and per-tick observation points (server/metrics/chat-metrics.ts); none when metrics are off. */
  metrics?: ChatHotMetrics | null;
  /** One of several chat nodes (etcd ownership); null: the single-process default. */
  cluster?: ClusterSettings | null;
  /** Where registration codes go (server/chat/code-sender.ts); default: dropped (nobody can register). */
  codeSender?: CodeSender;
  /** WA_LOADTEST_PROVISIONING=1: serve ProvisionUsers (a test aid); refused otherwise. */
  loadtestProvisioning?: boolean;
}

export class ChatServer {
  readonly engine: ChatEngine<GatewayLink>;
  readonly cluster: ClusterNode | null;
  private readonly peerKey: Buffer;
  /** The id this node proves itself under (its cluster name, or "chat"). */
  private readonly nodeName: string;
  /** Calls refused for a missing or bad peer proof. */
  authRefused = 0;
  /** Connect stream items refused for their shape (a bug in a gateway, or a foreign peer). */
  streamItemsRefused = 0;
  private directory: DirectoryClient | null = null;
  /** Cluster mode with WA_REDIS_URL: the node's replica of the routes and presence directory. */
  replica: RouteReplica | null = null;
  private readonly server: grpc.Server;
  private readonly links = new Set<GatewayLink>();
  port = 0;
  private hopUsSum = 0;
  private hopBatches = 0;
  readonly verification: PhoneVerification;

  constructor(private readonly opts: ChatServerOptions) {
    this.server = new grpc.Server(streamChannelOptions(opts.limits));
    const log = opts.log ?? (() => {});
    this.peerKey = peerKey(opts.tokenSecret);
    this.verification = new PhoneVerification(opts.limits, opts.codeSender ?? new NoCodeSender());
    this.nodeName = opts.cluster?.node_name ?? 'chat';
    this.cluster = opts.cluster ? new ClusterNode(opts.cluster, opts.store, log) : null;
    this.engine = new ChatEngine<GatewayLink>(opts.store, opts.limits, {
      gate: this.cluster,
      presenceFromDirectory: !!opts.cluster?.redis_url,
      debugLog: opts.debugDrain ? (line) => console.log(line) : null,
    });
    this.cluster?.attach(this.engine as never);
    const m = opts.metrics;
    if (m) {
      this.engine.onTick = (seconds, events) => {
        m.tickDuration.observe(seconds);
        m.tickEvents.observe(events);
      };
    }
    this.server.addService(chatServiceDefinition, {
      Connect: (call: grpc.ServerDuplexStream<WireGatewayBatch, WireChatBatch>) => this.onConnect(call),
      RequestCode: (call: grpc.ServerUnaryCall<{ phone: string; source: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (!this.authenticate(call.metadata)) return cb(unauthenticated());
        cb(null, this.onRequestCode(call.request));
      },
      Register: (call: grpc.ServerUnaryCall<RegisterCall, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (!this.authenticate(call.metadata)) return cb(unauthenticated());
        void this.onRegister(call.request).then((r) => cb(null, r), (e: Error) => cb(e));
      },
      ProvisionUsers: (call: grpc.ServerUnaryCall<{ first_user: number; count: number }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (!this.authenticate(call.metadata)) return cb(unauthenticated());
        void this.onProvision(call.request).then((r) => cb(null, r), (e: Error) => cb(e));
      },
      ChatAccess: (call: grpc.ServerUnaryCall<{ user: number; chat_id: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (!this.authenticate(call.metadata)) return cb(unauthenticated());
        void chatAccess(this.opts.store, this.opts.limits, call.request).then((r) => cb(null, r), (e: Error) => cb(e));
      },
    });
  }

  async start(): Promise<number> {
    await this.cluster?.checkEtcd();
    const redisUrl = this.opts.cluster?.redis_url;
    if (redisUrl) {
      // Presence from the directory: every gateway's sessions, online/offline once per user across gateways.
      this.directory = await connectDirectory(redisUrl, { name: 'chat' });
      this.replica = await RouteReplica.start(this.directory, {
        onPresence: (e) => this.engine.directoryPresence(e.user, e.online, e.atMs),
        log: (line) => this.opts.log?.(`directory: ${line}`),
      });
    }
    await this.engine.start();
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`${this.opts.host}:${this.opts.port}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    if (this.cluster) await this.cluster.start(this.opts.cluster!.advertise || `${this.opts.host}:${this.port}`);
    return this.port;
  }

  async stop(): Promise<void> {
    // A cluster node hands its partitions over first (while it can still write their watermarks).
    await this.cluster?.stop();
    this.replica?.close();
    this.directory?.close();
    await this.engine.flushWatermarks();
    this.engine.stop();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  get gatewayLinks(): number {
    return this.links.size;
  }

  get hopLatencyUsMean(): number {
    return this.hopBatches === 0 ? 0 : this.hopUsSum / this.hopBatches;
  }

  /** A gateway's proof on a call (server/common/peer-auth.ts); refusals are counted and logged once in a while. */
  private authenticate(md: grpc.Metadata): { who: string; nonce: string } | null {
    const ok = verifyClientProof(this.peerKey, md.get(PEER_AUTH_HEADER)[0]);
    if (!ok) {
      this.authRefused++;
      if (this.authRefused === 1 || this.authRefused % 1000 === 0) {
        this.opts.log?.(`refused ${this.authRefused} call(s) without a valid ${PEER_AUTH_HEADER} proof (a different token secret, or not our gateway)`);
      }
    }
    return ok;
  }

  /** A stream item of the wrong shape (server/chat/stream-intake.ts): counted, logged once in a while, dropped. */
  private refuseItem(why: string): void {
    this.streamItemsRefused++;
    if (this.streamItemsRefused === 1 || this.streamItemsRefused % 1000 === 0) {
      this.opts.log?.(`refused ${this.streamItemsRefused} malformed stream item(s), latest: ${why.slice(0, 200)}`);
    }
  }

  private onConnect(call: grpc.ServerDuplexStream<WireGatewayBatch, WireChatBatch>): void {
    let link: GatewayLink | null = null;
    const log = this.opts.log ?? (() => {});
    const peer = this.authenticate(call.metadata);
    if (!peer) {
      // emit('error'), not destroy(): grpc-js sends the status from its error handler; a destroyed
      // stream sent none, and the refused caller hung until it cancelled.
      call.emit('error', unauthenticated());
      return;
    }
    const answer = new grpc.Metadata();
    answer.set(PEER_AUTH_HEADER, serverProof(this.peerKey, this.nodeName, peer.nonce));
    call.sendMetadata(answer);
    const m = this.opts.metrics ?? null;
    call.on('data', (batch: WireGatewayBatch) => {
      if (batch.sent_at_us) {
        const hopUs = monoUs() - batch.sent_at_us;
        this.hopUsSum += hopUs;
        this.hopBatches++;
        m?.grpcHopLatency.observe(hopUs / 1e6);
      }
      m?.grpcBatchItemsIn.observe(batch.items.length);
      const mark = this.cluster && link !== null && batch.sent_at_us > 0;
      for (const item of batch.items) {
        if (item.event === 'hello') {
          if (link) continue;
          const h = helloOf(item.hello);
          if (typeof h === 'string') {
            this.refuseItem(h);
            continue;
          }
          if (h.refused > 0) this.refuseItem(`${h.refused} malformed session(s) in hello`);
          link = new GatewayLink(h.hello.gateway_id || 'gateway', call, this.opts.limits.grpc_batch_items_max, m?.grpcBatchItemsOut ?? null);
          this.links.add(link);
          log(`gateway ${link.id} connected with ${h.hello.sessions.length} sessions`);
          call.write({ items: [] }); // welcome: the gateway may send from now on
          for (const s of h.hello.sessions) this.engine.enqueue(link, { kind: 'connected', conn: s.conn, user: s.user });
          continue;
        }
        if (!link) continue; // protocol: Hello first
        const ev = inboundEventOf(item, this.opts.limits);
        if (typeof ev === 'string') this.refuseItem(ev);
        else this.engine.enqueue(link, ev);
      }
      if (mark && link) this.engine.enqueue(link, { kind: 'processed', us: batch.sent_at_us });
    });
    const down = () => {
      if (!link) return;
      log(`gateway ${link.id} disconnected`);
      this.links.delete(link);
      this.engine.enqueue(link, { kind: 'link-down' });
      link = null;
    };
    call.on('end', () => {
      down();
      call.end();
    });
    call.on('error', down);
    call.on('cancelled', down);
  }

  private onRequestCode(req: { phone: string; source: string }) {
    const p = phoneOf(String(req.phone ?? ''));
    const r = p instanceof ProtocolError ? p : this.verification.request(p.phone, sourceOf(String(req.source ?? '')), Date.now());
    if (r instanceof ProtocolError) return { expires_in_seconds: 0, error_code: r.code, error_message: r.message };
    return { expires_in_seconds: r.expiresInSeconds, error_code: '', error_message: '' };
  }

  /**
   * A verified phone gets its user (the same id when the number was registered before) and a new token. Re-registering
   * a number ADDS a device: tokens issued before stay valid until they expire (docs/design/015-abuse-and-authorization.md).
   */
  private async onRegister(req: RegisterCall) {
    const r = registrationOf(String(req.phone ?? ''), String(req.display_name ?? ''), String(req.code ?? ''), this.opts.limits);
    const refused = r instanceof ProtocolError ? r : this.verification.verify(r.phone, r.code, sourceOf(String(req.source ?? '')), Date.now());
    if (refused) return { user_id: 0, token: '', error_code: refused.code, error_message: refused.message };
    const ok = r as Exclude<typeof r, ProtocolError>;
    const { id } = await this.opts.store.registerUser(ok.phone, ok.display_name, Date.now());
    return { user_id: id, token: mintToken(this.opts.tokenSecret, id, this.opts.limits.token_ttl_seconds), error_code: '', error_message: '' };
  }

  private async onProvision(req: { first_user: number; count: number }) {
    if (!this.opts.loadtestProvisioning) {
      throw Object.assign(new Error(PROVISIONING_OFF), { code: grpc.status.FAILED_PRECONDITION, details: PROVISIONING_OFF });
    }
    const first = Number(req.first_user);
    const count = Number(req.count);
    const problem = provisionProblem(first, count, PROVISIONED_USER_ID_MIN, this.opts.limits);
    if (problem) throw Object.assign(new Error(problem.message), { code: grpc.status.INVALID_ARGUMENT });
    return { created: await this.opts.store.provisionUsers(first, count, Date.now()) };
  }
}

interface RegisterCall {
  phone: string;
  display_name: string;
  code: string;
  source: string;
}

const PROVISIONING_OFF = 'ProvisionUsers is a load-test aid and is off: start the chat service with WA_LOADTEST_PROVISIONING=1 ' +
  '(never in production: it creates users without phone verification); real users register with a code (POST /v1/register/code, then /v1/register)';

function unauthenticated(): grpc.ServiceError {
  return Object.assign(new Error(`missing or bad ${PEER_AUTH_HEADER} proof`), {
    code: grpc.status.UNAUTHENTICATED, details: `missing or bad ${PEER_AUTH_HEADER} proof`, metadata: new grpc.Metadata(),
  });
}
