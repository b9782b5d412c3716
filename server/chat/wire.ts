// The chat service's wire: client frames in, effects out. The only module of
// the chat service that touches the client protocol's encoding.
//   in:  decodeInbound - the client's bytes (relayed by a gateway) -> a frame,
//        validated with the same functions as the gateway's edge.
//   out: WireOut - each effect (effects.ts) encoded ONCE into a ServerFrame and
//        handed to the gateway links that hold its addressees: a delivery to
//        many users on one gateway is one item listing all of them.
import type { Limits } from '../common/config';
import { ErrorCode, ProtocolError } from '../common/errors';
import { decodeClientFrame, decodeSystemEvent, encodeServerFrame, type ClientFrame, type GroupInfoBody, type KeyBundlesBody, type MessageBody } from '../common/protocol';
import { clientFrameProblem } from '../common/validation';
import { MessageKind, type ChatState, type StoredMessage, type TakenBundle } from '../store/store';
import type { Effect, EffectSink } from './effects';
import type { ConnState, GatewayLinkRef, RouteRegistry } from './routes';

/** What the chat service asks a gateway link to send: one encoded frame, addressed to users and/or connections. */
export interface OutboundInit {
  frame: Uint8Array;
  users?: number[];
  conns?: number[];
  recv_at_us?: number;
  close?: boolean;
}

export interface LinkSink extends GatewayLinkRef {
  push(item: OutboundInit): void;
  /** Cluster mode: everything this gateway sent up to its batch stamped `us` is handled (told back with the next batch). */
  markProcessed?(us: number): void;
}

/** Decode and validate one client frame; a ProtocolError (to answer with) when it is malformed or out of limits. */
export function decodeInbound(bytes: Uint8Array, limits: Limits): ClientFrame | ProtocolError {
  let frame: ClientFrame;
  try {
    frame = decodeClientFrame(bytes);
  } catch (err) {
    return err instanceof ProtocolError ? err : new ProtocolError(ErrorCode.MALFORMED_FRAME, String(err));
  }
  return clientFrameProblem(frame, limits) ?? frame;
}

export class WireOut<L extends LinkSink> implements EffectSink<L> {
  constructor(private readonly routes: RouteRegistry<L>) {}

  emit(e: Effect<L>): void {
    switch (e.t) {
      case 'sent': {
        const m = e.msg;
        this.toConn(e.to, encodeServerFrame({
          sent: { ref: e.ref, client_msg_id: m.client_msg_id, id: m.id, chat_id: m.chat_id, seq: m.seq, server_time_ms: m.sent_at_ms },
        }));
        return;
      }
      case 'message': return this.deliver(e.msg, e.users, e.recvAtUs);
      case 'replay':
        for (const m of e.msgs) this.toConn(e.to, encodeServerFrame({ message: messageBody(m, true) }));
        return;
      case 'drain_done': return this.toConn(e.to, encodeServerFrame({ drain_done: { messages: e.messages } }));
      case 'receipt': {
        const frame = encodeServerFrame({ receipt: { chat_id: e.chatId, user: e.user, kind: e.kind, up_to_id: e.upTo } });
        for (const u of e.users) {
          const conns = this.routes.connsOfUser(u);
          if (conns) this.toUser(conns, u, frame, 0);
        }
        return;
      }
      case 'error': return this.toConn(e.to, encodeServerFrame({ error: { ref: e.ref, code: e.code, message: e.message } }), e.close);
      case 'group_info': return this.toConn(e.to, encodeServerFrame({ group_info: groupInfoBody(e.chat, e.ref) }));
      case 'message_info':
        return this.toConn(e.to, encodeServerFrame({
          message_info: { ref: e.ref, chat_id: e.chatId, id: e.id, delivered_to: e.deliveredTo, read_by: e.readBy },
        }));
      case 'history':
        return this.toConn(e.to, encodeServerFrame({
          history: { ref: e.ref, chat_id: e.chatId, messages: e.msgs.map((m) => messageBody(m, true)), next_before_id: e.nextBeforeId },
        }));
      case 'privacy': return this.toConn(e.to, encodeServerFrame({ privacy: { ref: e.ref, last_seen: e.lastSeen } }));
      case 'keys_stored':
        return this.toConn(e.to, encodeServerFrame({ keys_stored: { ref: e.ref, device_id: e.device, one_time_prekeys: e.oneTimePrekeys } }));
      case 'key_bundles': return this.toConn(e.to, encodeServerFrame({ key_bundles: keyBundlesBody(e.ref, e.user, e.bundles) }));
      case 'prekeys_low': {
        const conns = this.routes.connsOfUser(e.user);
        if (conns) this.toUser(conns, e.user, encodeServerFrame({ prekeys_low: { device_id: e.device, one_time_prekeys: e.oneTimePrekeys } }), 0);
        return;
      }
      case 'presence': {
        const frame = encodeServerFrame({ presence: { user: e.user, online: e.online, last_seen_ms: e.lastSeenMs } });
        for (const c of e.to) this.toConn(c, frame);
        return;
      }
    }
  }

  /**
   * A live delivery: the frame is encoded once (and only if someone is online),
   * and each gateway link gets ONE item listing all its recipients.
   */
  private deliver(msg: StoredMessage, users: readonly number[], recvAtUs: number): void {
    if (users.length === 1) {
      const to = users[0]!;
      const conns = this.routes.connsOfUser(to);
      if (!conns) return;
      this.toUser(conns, to, encodeServerFrame({ message: messageBody(msg, false) }), recvAtUs);
      return;
    }
    const byLink = new Map<L, number[]>();
    for (const to of users) {
      const conns = this.routes.connsOfUser(to);
      if (!conns) continue;
      for (const c of conns) {
        const list = byLink.get(c.link);
        if (!list) byLink.set(c.link, [to]);
        else if (list[list.length - 1] !== to) list.push(to);
      }
    }
    if (byLink.size === 0) return;
    const frame = encodeServerFrame({ message: messageBody(msg, false) });
    for (const [link, list] of byLink) link.push({ frame, users: list, recv_at_us: recvAtUs });
  }

  /** One item per gateway link holding the user, addressed by user. */
  private toUser(conns: readonly ConnState<L>[], user: number, frame: Uint8Array, recvAtUs: number): void {
    if (conns.length === 1) {
      conns[0]!.link.push({ frame, users: [user], recv_at_us: recvAtUs });
      return;
    }
    const links = new Set<L>();
    for (const c of conns) links.add(c.link);
    for (const link of links) link.push({ frame, users: [user], recv_at_us: recvAtUs });
  }

  private toConn(state: ConnState<L>, frame: Uint8Array, close = false): void {
    state.link.push(close ? { frame, conns: [state.conn], close } : { frame, conns: [state.conn] });
  }
}

export function groupInfoBody(chat: ChatState, ref: number): GroupInfoBody {
  return {
    ref, chat_id: chat.chat_id, name: chat.name, created_by: chat.created_by,
    members: [...chat.members.values()].map((m) => ({ user: m.user, admin: m.admin })),
  };
}

function keyBundlesBody(ref: number, user: number, bundles: readonly TakenBundle[]): KeyBundlesBody {
  return {
    ref, user,
    devices: bundles.map((b) => ({
      device_id: b.device, registration_id: b.registration_id, identity_key: b.identity_key,
      signed_prekey: b.signed_prekey, kyber_prekey: b.kyber_prekey, one_time_prekey: b.one_time_prekey,
    })),
  };
}

function messageBody(m: StoredMessage, replay: boolean): MessageBody {
  if (m.kind === MessageKind.System) {
    return {
      id: m.id, chat_id: m.chat_id, seq: m.seq, from_user: m.sender, client_msg_id: '',
      body: new Uint8Array(0), sent_at_ms: m.sent_at_ms, replay, system: decodeSystemEvent(m.body),
    };
  }
  return {
    id: m.id, chat_id: m.chat_id, seq: m.seq, from_user: m.sender, client_msg_id: m.client_msg_id,
    body: m.body, sent_at_ms: m.sent_at_ms, replay,
  };
}
