// What the chat engine decides, as data. Every part of the engine (sends,
// groups, receipts, drains, presence, queries) emits effects into one sink and
// never encodes a frame itself: server/chat/wire.ts turns effects into client
// frames and hands them to the gateway links; an in-process test collects them
// with a fake sink and reads them directly.
//
// Effects are addressed either to one connection (answers: acks, errors,
// query results, a drain page) or to users (deliveries and receipts reach every
// connection of every listed user, on whichever gateway holds it).
import type { ErrorCode } from '../common/errors';
import type { ChatState, StoredMessage, TakenBundle } from '../store/store';
import type { ConnState, GatewayLinkRef } from './routes';

export type Effect<L extends GatewayLinkRef> =
  /** The sender's message is durable: its server id, chat and seq. */
  | { t: 'sent'; to: ConnState<L>; ref: number; msg: StoredMessage }
  /** A live delivery of a stored message to these users: online, and not draining (a drain delivers in order). */
  | { t: 'message'; msg: StoredMessage; users: readonly number[]; recvAtUs: number }
  /** A page of an offline-queue drain, oldest first. */
  | { t: 'replay'; to: ConnState<L>; msgs: readonly StoredMessage[] }
  | { t: 'drain_done'; to: ConnState<L>; messages: number }
  /** A watermark moved: `user` (0: every member of a group) has `kind` up to `upTo`; heard by `users`. */
  | { t: 'receipt'; chatId: string; user: number; kind: number; upTo: number; users: readonly number[] }
  | { t: 'error'; to: ConnState<L>; ref: number; code: ErrorCode; message: string; close?: boolean }
  | { t: 'group_info'; to: ConnState<L>; ref: number; chat: ChatState }
  | { t: 'message_info'; to: ConnState<L>; ref: number; chatId: string; id: number; deliveredTo: number[]; readBy: number[] }
  | { t: 'history'; to: ConnState<L>; ref: number; chatId: string; msgs: readonly StoredMessage[]; nextBeforeId: number }
  | { t: 'presence'; to: Iterable<ConnState<L>>; user: number; online: boolean; lastSeenMs: number }
  | { t: 'privacy'; to: ConnState<L>; ref: number; lastSeen: number }
  /** Key directory (keys.ts): an upload is stored; a fetch's bundles; a device is running out of one-time prekeys. */
  | { t: 'keys_stored'; to: ConnState<L>; ref: number; device: number; oneTimePrekeys: number }
  | { t: 'key_bundles'; to: ConnState<L>; ref: number; user: number; bundles: readonly TakenBundle[] }
  | { t: 'prekeys_low'; user: number; device: number; oneTimePrekeys: number };

export interface EffectSink<L extends GatewayLinkRef> {
  emit(effect: Effect<L>): void;
}
