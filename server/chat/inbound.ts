// What reaches the engine from gateways, and how one tick sorts it. A frame
// arrives as the client's bytes; wire.ts decodes and validates it (the same
// validation as the gateway's edge); then it lands in one of the tick's lists,
// each handled by its part in a fixed order (engine.ts: tick).
import type { AckBody, ClientFrame, CreateGroupBody, GroupChangeBody, HistoryRequestBody, SendBody } from '../common/protocol';
import type { ConnState, GatewayLinkRef } from './routes';

export type InboundEvent =
  | { kind: 'frame'; conn: number; user: number; frame: Uint8Array; recv_at_us: number }
  | { kind: 'connected'; conn: number; user: number }
  | { kind: 'disconnected'; conn: number; user: number }
  | { kind: 'link-down' }
  /** Cluster mode: every item of the gateway batch sent at `us` was enqueued before this mark. */
  | { kind: 'processed'; us: number }
  /** Cluster mode with the Redis directory: a user came online or went offline on any gateway. */
  | { kind: 'presence'; user: number; online: boolean; atMs: number };

export interface SendOp<L extends GatewayLinkRef> {
  kind: 'send'; state: ConnState<L>; ref: number; send: SendBody; recv_at_us: number;
  /** clientKey(sender, client_msg_id), made once by Sends.prefetch ('' until then). */
  key: string;
  /** A 1:1 send's chat id, made once by Sends.prefetch ('' for group sends, retries and sends refused before any read). */
  chatId: string;
  /** Sends.prefetch read this 1:1 send's chat and the store has none: its first message creates it without reading again. */
  chatAbsent: boolean;
}
export interface CreateOp<L extends GatewayLinkRef> { kind: 'create'; state: ConnState<L>; ref: number; body: CreateGroupBody; recv_at_us: number }
export interface ChangeOp<L extends GatewayLinkRef> { kind: 'change'; state: ConnState<L>; ref: number; body: GroupChangeBody; recv_at_us: number }
/** Sends and group changes: they run in arrival order ("remove X, then send m" never delivers m to X). */
export type Op<L extends GatewayLinkRef> = SendOp<L> | CreateOp<L> | ChangeOp<L>;

export interface Query<L extends GatewayLinkRef> { state: ConnState<L>; ref: number; frame: ClientFrame }
export interface AckIn<L extends GatewayLinkRef> { state: ConnState<L>; ref: number; ack: AckBody }
export interface HistoryIn<L extends GatewayLinkRef> { state: ConnState<L>; ref: number; req: HistoryRequestBody }
export interface PresenceChange { user: number; online: boolean; lastSeenMs: number }

/** One tick's inbound work, sorted by kind. */
export interface TickInput<L extends GatewayLinkRef> {
  ops: Op<L>[];
  acks: AckIn<L>[];
  histories: HistoryIn<L>[];
  infos: Query<L>[];
  /** Connections opened in this tick: they drain first. */
  connected: ConnState<L>[];
  presenceChanges: PresenceChange[];
  /** Gateway batches fully handled once this tick ends (cluster mode): told back to each gateway. */
  marks: { link: L; us: number }[];
}

export function emptyTickInput<L extends GatewayLinkRef>(): TickInput<L> {
  return { ops: [], acks: [], histories: [], infos: [], connected: [], presenceChanges: [], marks: [] };
}

/**
 * File one decoded, validated frame into the tick's lists. Returns the frame
 * when it is handled at once instead (presence subscriptions, privacy settings, the key directory's frames); pings never
 * reach here (the gateway answers them).
 */
export function fileFrame<L extends GatewayLinkRef>(input: TickInput<L>, state: ConnState<L>, frame: ClientFrame, recvAtUs: number): ClientFrame | null {
  switch (frame.body) {
    case 'send': input.ops.push({ kind: 'send', state, ref: frame.ref, send: frame.send, recv_at_us: recvAtUs, key: '', chatId: '', chatAbsent: false }); return null;
    case 'create_group': input.ops.push({ kind: 'create', state, ref: frame.ref, body: frame.create_group, recv_at_us: recvAtUs }); return null;
    case 'group_change': input.ops.push({ kind: 'change', state, ref: frame.ref, body: frame.group_change, recv_at_us: recvAtUs }); return null;
    case 'group_info':
    case 'message_info': input.infos.push({ state, ref: frame.ref, frame }); return null;
    case 'ack': input.acks.push({ state, ref: frame.ref, ack: frame.ack }); return null;
    case 'history': input.histories.push({ state, ref: frame.ref, req: frame.history }); return null;
    case 'presence_subscribe':
    case 'set_privacy':
    case 'keys_upload':
    case 'key_bundle_request': return frame;
    case 'ping': return null;
  }
}
