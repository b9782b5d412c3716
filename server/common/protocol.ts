// The client protocol's codecs, built from proto/client.proto (the one source
// of truth). Message ids are uint64 on the wire and plain numbers here: Long
// support is switched off so protobufjs decodes them to numbers (they are kept
// below 2^53, see ids.ts).
//
// Batches are framed by hand: a ServerBatch is the concatenation of
// (tag 0x0a, varint length, encoded ServerFrame) per frame, so a gateway can
// coalesce frames that the chat service encoded once, without decoding them.
import protobuf from 'protobufjs';
import { join } from 'node:path';
import { PROTO_DIR } from './paths';
import { ErrorCode, ProtocolError } from './errors';

(protobuf.util as { Long: unknown }).Long = undefined;
protobuf.configure();

const root = new protobuf.Root();
root.loadSync(join(PROTO_DIR, 'client.proto'), { keepCase: true });
root.resolveAll();

export const ClientFrameType = root.lookupType('wa.client.ClientFrame');
export const ServerFrameType = root.lookupType('wa.client.ServerFrame');
export const ClientBatchType = root.lookupType('wa.client.ClientBatch');
export const ServerBatchType = root.lookupType('wa.client.ServerBatch');
export const MessageType = root.lookupType('wa.client.Message');
export const SystemEventType = root.lookupType('wa.client.SystemEvent');

export function encodeSystemEvent(e: SystemEventBody): Uint8Array {
  return SystemEventType.encode(e as object).finish();
}

export function decodeSystemEvent(bytes: Uint8Array): SystemEventBody {
  return SystemEventType.decode(bytes) as unknown as SystemEventBody;
}

export const ReceiptKind = { DELIVERED: 1, READ: 2 } as const;

// ---- Shapes of decoded frames (what protobufjs gives us, typed) ----

export interface SendBody { to_user: number; client_msg_id: string; body: Uint8Array; chat_id: string }
export interface AckBody { chat_id: string; delivered_up_to: number; read_up_to: number }
export interface HistoryRequestBody { chat_id: string; before_id: number; limit: number }
export interface PresenceSubscribeBody { user_ids: number[] }
export interface PingBody { client_time_ms: number }
export interface CreateGroupBody { name: string; members: number[] }
export interface GroupChangeBody { chat_id: string; kind: number; users: number[]; name: string }
export interface GroupInfoRequestBody { chat_id: string }
export interface MessageInfoRequestBody { chat_id: string; id: number }
export interface SetPrivacyBody { last_seen: number }
export interface SignedPreKeyBody { id: number; public_key: Uint8Array; signature: Uint8Array }
export interface OneTimePreKeyBody { id: number; public_key: Uint8Array }
/** The key directory (docs/design/021-e2ee.md); signed_prekey and kyber_prekey are null/undefined when absent. */
export interface KeysUploadBody {
  device_id: number; registration_id: number; identity_key: Uint8Array;
  signed_prekey?: SignedPreKeyBody | null; kyber_prekey?: SignedPreKeyBody | null; one_time_prekeys: OneTimePreKeyBody[];
}
export interface KeyBundleRequestBody { user: number }
/** LastSeenPrivacy in client.proto. */
export const LastSeenPrivacy = { UNSPECIFIED: 0, EVERYONE: 1, CONTACTS: 2, NOBODY: 3 } as const;

/** GroupChangeKind in client.proto; UNSPECIFIED (0) in a SystemEvent marks the group's creation. */
export const GroupChangeKind = { CREATED: 0, ADD: 1, REMOVE: 2, PROMOTE: 3, DEMOTE: 4, LEAVE: 5, RENAME: 6 } as const;

export type ClientFrame = { ref: number } & (
  | { body: 'send'; send: SendBody }
  | { body: 'ack'; ack: AckBody }
  | { body: 'history'; history: HistoryRequestBody }
  | { body: 'presence_subscribe'; presence_subscribe: PresenceSubscribeBody }
  | { body: 'ping'; ping: PingBody }
  | { body: 'create_group'; create_group: CreateGroupBody }
  | { body: 'group_change'; group_change: GroupChangeBody }
  | { body: 'group_info'; group_info: GroupInfoRequestBody }
  | { body: 'message_info'; message_info: MessageInfoRequestBody }
  | { body: 'set_privacy'; set_privacy: SetPrivacyBody }
  | { body: 'keys_upload'; keys_upload: KeysUploadBody }
  | { body: 'key_bundle_request'; key_bundle_request: KeyBundleRequestBody }
);

export interface SystemEventBody { kind: number; actor: number; users: number[]; name: string }

export interface MessageBody {
  id: number; chat_id: string; seq: number; from_user: number; client_msg_id: string;
  body: Uint8Array; sent_at_ms: number; replay: boolean;
  system?: SystemEventBody | null;
}
export interface SentAckBody { ref: number; client_msg_id: string; id: number; chat_id: string; seq: number; server_time_ms: number }
export interface ReceiptBody { chat_id: string; user: number; kind: number; up_to_id: number }
export interface ErrorBody { ref: number; code: string; message: string }
export interface HistoryPageBody { ref: number; chat_id: string; messages: MessageBody[]; next_before_id: number }
export interface PresenceBody { user: number; online: boolean; last_seen_ms: number }
export interface PongBody { ref: number; client_time_ms: number; server_time_ms: number }
export interface DrainDoneBody { messages: number }
export interface GroupInfoBody { ref: number; chat_id: string; name: string; created_by: number; members: { user: number; admin: boolean }[] }
export interface MessageInfoBody { ref: number; chat_id: string; id: number; delivered_to: number[]; read_by: number[] }
export interface PrivacyBody { ref: number; last_seen: number }
export interface KeysStoredBody { ref: number; device_id: number; one_time_prekeys: number }
export interface DeviceBundleBody {
  device_id: number; registration_id: number; identity_key: Uint8Array;
  signed_prekey: SignedPreKeyBody; kyber_prekey: SignedPreKeyBody; one_time_prekey?: OneTimePreKeyBody | null;
}
export interface KeyBundlesBody { ref: number; user: number; devices: DeviceBundleBody[] }
export interface PrekeysLowBody { device_id: number; one_time_prekeys: number }

export type ServerFrame =
  | { body: 'sent'; sent: SentAckBody }
  | { body: 'message'; message: MessageBody }
  | { body: 'receipt'; receipt: ReceiptBody }
  | { body: 'error'; error: ErrorBody }
  | { body: 'history'; history: HistoryPageBody }
  | { body: 'presence'; presence: PresenceBody }
  | { body: 'pong'; pong: PongBody }
  | { body: 'drain_done'; drain_done: DrainDoneBody }
  | { body: 'group_info'; group_info: GroupInfoBody }
  | { body: 'message_info'; message_info: MessageInfoBody }
  | { body: 'privacy'; privacy: PrivacyBody }
  | { body: 'keys_stored'; keys_stored: KeysStoredBody }
  | { body: 'key_bundles'; key_bundles: KeyBundlesBody }
  | { body: 'prekeys_low'; prekeys_low: PrekeysLowBody };

type Without<T, K extends keyof T> = Omit<T, K>;
/** A ServerFrame as we build it for encoding (no `body` discriminator needed). */
export type ServerFrameInit =
  | { sent: SentAckBody }
  | { message: MessageBody }
  | { receipt: ReceiptBody }
  | { error: ErrorBody }
  | { history: HistoryPageBody }
  | { presence: PresenceBody }
  | { pong: PongBody }
  | { drain_done: DrainDoneBody }
  | { group_info: GroupInfoBody }
  | { message_info: MessageInfoBody }
  | { privacy: PrivacyBody }
  | { keys_stored: KeysStoredBody }
  | { key_bundles: KeyBundlesBody }
  | { prekeys_low: PrekeysLowBody };
export type ClientFrameInit = { ref?: number } & (
  | { send: Partial<SendBody> & { client_msg_id: string } }
  | { ack: Partial<AckBody> & { chat_id: string } }
  | { history: Partial<HistoryRequestBody> & { chat_id: string } }
  | { presence_subscribe: PresenceSubscribeBody }
  | { ping: PingBody }
  | { create_group: Partial<CreateGroupBody> }
  | { group_change: Partial<GroupChangeBody> & { chat_id: string } }
  | { group_info: GroupInfoRequestBody }
  | { message_info: MessageInfoRequestBody }
  | { set_privacy: SetPrivacyBody }
  | { keys_upload: Partial<KeysUploadBody> }
  | { key_bundle_request: KeyBundleRequestBody }
);
export type { Without };

// ---- Encoding ----

export function encodeServerFrame(frame: ServerFrameInit): Uint8Array {
  return ServerFrameType.encode(frame as object).finish();
}

export function encodeClientFrame(frame: ClientFrameInit): Uint8Array {
  return ClientFrameType.encode(frame as object).finish();
}

/** Frame a list of encoded frames as one batch (ClientBatch or ServerBatch: same layout). */
export function frameBatch(frames: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const f of frames) size += 1 + varintSize(f.length) + f.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const f of frames) {
    out[at++] = 0x0a;
    at = writeVarint(out, at, f.length);
    out.set(f, at);
    at += f.length;
  }
  return out;
}

/** Append one encoded frame, batch-framed, into `out` at `at`; returns the new offset. */
export function writeBatchEntry(out: Uint8Array, at: number, frame: Uint8Array): number {
  out[at++] = 0x0a;
  at = writeVarint(out, at, frame.length);
  out.set(frame, at);
  return at + frame.length;
}

export function batchEntrySize(frameLength: number): number {
  return 1 + varintSize(frameLength) + frameLength;
}

/**
 * Split a batch into its encoded frames (views, no copies). Throws
 * ProtocolError(MALFORMED_FRAME) on anything that is not a well-formed batch,
 * BATCH_TOO_LARGE past `framesMax`.
 */
export function splitBatch(buf: Uint8Array, framesMax: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf[at] !== 0x0a) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'batch: expected field 1 (frames)');
    at++;
    let len = 0;
    let shift = 0;
    for (;;) {
      if (at >= buf.length || shift > 28) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'batch: bad length');
      const b = buf[at++]!;
      len += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
    }
    if (at + len > buf.length) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'batch: truncated frame');
    if (frames.length === framesMax) {
      throw new ProtocolError(ErrorCode.BATCH_TOO_LARGE, `more than batch_frames_max=${framesMax} frames in one batch`);
    }
    frames.push(buf.subarray(at, at + len));
    at += len;
  }
  return frames;
}

/** Decode one client frame; ProtocolError on garbage or on a frame with no known body. */
export function decodeClientFrame(bytes: Uint8Array): ClientFrame {
  let frame: ClientFrame;
  try {
    frame = ClientFrameType.decode(bytes) as unknown as ClientFrame;
  } catch (err) {
    throw new ProtocolError(ErrorCode.MALFORMED_FRAME, `undecodable frame: ${(err as Error).message}`);
  }
  if (!frame.body) throw new ProtocolError(ErrorCode.UNKNOWN_TYPE, 'frame has no known body type');
  return frame;
}

export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  return ServerFrameType.decode(bytes) as unknown as ServerFrame;
}

/** Decode a whole ServerBatch into frames (clients use this). */
export function decodeServerBatch(buf: Uint8Array): ServerFrame[] {
  return splitBatch(buf, Number.MAX_SAFE_INTEGER).map(decodeServerFrame);
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}
