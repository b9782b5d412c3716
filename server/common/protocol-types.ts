// The client protocol's shapes: frames as the codecs decode them and as
// callers build them for encoding (proto/client.proto is the source of truth;
// server/common/protocol.ts re-exports all of this). Kept apart from the
// codecs so that both protobufjs's path (protocol.ts) and the hand codecs
// (codec/) can import them without a cycle.
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
