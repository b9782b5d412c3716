// Where the gateway's items go. One chat service (the single-process
// default): everything on its one ChatLink. Several chat nodes
// (cluster-router.ts): session events to every node, each client frame to the
// owner of its partition.
import type { WireChatBatch, WireInbound } from '../common/grpc-defs';
import { ChatLink, type ChatLinkOptions, type UnaryMethod } from './chat-link';

/** What became of a client frame handed to the router. */
export type FrameRoute = 'sent' | 'held' | 'unavailable';

export interface ChatRouter {
  /** Frames go by partition (several chat nodes): the gateway computes each frame's partition. */
  readonly byPartition: boolean;
  start(): Promise<void> | void;
  /** A connection opened or closed: every chat node hears it. */
  session(item: WireInbound): void;
  /**
   * A client frame for `partition`. 'held': waiting for the partition's owner
   * (it moves); `giveUp` runs if it is still waiting when the hold ends.
   */
  frame(partition: number, item: WireInbound, giveUp: () => void): FrameRoute;
  /** Unary control calls (registration) go to any reachable node. */
  /** `key` (a phone): calls with the same key go to the same chat node while it is up (verification state lives there). */
  unary<Req, Res>(method: UnaryMethod, req: Req, key?: string): Promise<Res>;
  /** Usable for client traffic (health, and refusing upgrades until then). */
  readonly up: boolean;
  /** Extra /healthz fields. */
  health(): Record<string, unknown>;
  /** Per-link counters for /metrics. */
  links(): readonly ChatLink[];
  close(): void;
}

export type RouterCallbacks = Pick<ChatLinkOptions, 'sessions' | 'onUp' | 'onDown'> & {
  onBatch: (batch: WireChatBatch, from: ChatLink) => void;
};

/** The single-process default: one chat service at a fixed address. */
export class SingleRouter implements ChatRouter {
  readonly byPartition = false;
  private readonly link: ChatLink;

  constructor(opts: Omit<ChatLinkOptions, 'onBatch'> & RouterCallbacks) {
    this.link = new ChatLink({ ...opts, onBatch: (b) => opts.onBatch(b, this.link) });
  }

  start(): void {
    this.link.start();
  }

  session(item: WireInbound): void {
    this.link.push(item);
  }

  frame(_partition: number, item: WireInbound): FrameRoute {
    return this.link.push(item) ? 'sent' : 'unavailable';
  }

  unary<Req, Res>(method: UnaryMethod, req: Req): Promise<Res> {
    return this.link.unary<Req, Res>(method, req);
  }

  get up(): boolean {
    return this.link.up;
  }

  health(): Record<string, unknown> {
    return {};
  }

  links(): readonly ChatLink[] {
    return [this.link];
  }

  close(): void {
    this.link.close();
  }
}
