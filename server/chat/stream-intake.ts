// The chat service's side of the Connect stream: each decoded GatewayBatch
// item shape-checked (lib/shape.ts) and turned into an engine event, or
// refused. protobufjs guarantees the field types but not their ranges: a
// uint64 user decodes to any number up to 2^64 (not a safe integer past 2^53),
// a frame may be any length, a Hello may name anything. The gateway is
// authenticated (server/common/peer-auth.ts), so a refused item is a bug or a
// foreign peer: it is counted and dropped, and the stream keeps serving.
//
// Cost: a few typeof/range checks per item on the hot path; nothing allocated
// for an accepted frame beyond the event the engine needs anyway.
import { isPlainObject } from '../../lib/shape';
import { STREAM_LIMITS, type Limits } from '../common/config';
import type { WireInbound } from '../common/grpc-defs';
import { isUserId } from '../common/validation';
import type { InboundEvent } from './inbound';

export interface HelloShape {
  gateway_id: string;
  sessions: { conn: number; user: number }[];
}

/** A connection id as the stream carries it (uint32; 0 is "none"). */
function isConnId(c: unknown): c is number {
  return typeof c === 'number' && Number.isInteger(c) && c > 0 && c <= 0xffffffff;
}

/** A non-Hello item as an engine event; a string saying what is wrong otherwise. */
export function inboundEventOf(item: WireInbound, limits: Limits): InboundEvent | string {
  if (!isConnId(item.conn)) return `conn ${String(item.conn)} is not a connection id`;
  if (!isUserId(item.user)) return `user ${String(item.user)} is not a user id`;
  switch (item.event) {
    case 'frame': {
      const frame = item.frame;
      if (!(frame instanceof Uint8Array)) return 'frame is not bytes';
      if (frame.length > limits.frame_bytes_max) return `frame of ${frame.length} bytes exceeds frame_bytes_max=${limits.frame_bytes_max}`;
      const recvAtUs = typeof item.recv_at_us === 'number' && Number.isSafeInteger(item.recv_at_us) && item.recv_at_us >= 0 ? item.recv_at_us : 0;
      return { kind: 'frame', conn: item.conn, user: item.user, frame, recv_at_us: recvAtUs };
    }
    case 'connected': return { kind: 'connected', conn: item.conn, user: item.user };
    case 'disconnected': return { kind: 'disconnected', conn: item.conn, user: item.user };
    default: return `unknown event ${String(item.event)}`;
  }
}

/** A Hello's gateway id and sessions, with the sessions that are not well-formed left out (and counted). */
export function helloOf(hello: unknown): { hello: HelloShape; refused: number } | string {
  if (!isPlainObject(hello)) return 'hello is not a message';
  const id = hello.gateway_id;
  if (typeof id !== 'string' || Buffer.byteLength(id) > STREAM_LIMITS.gateway_id_bytes_max) {
    return `hello.gateway_id must be a string of at most ${STREAM_LIMITS.gateway_id_bytes_max} bytes`;
  }
  const given = Array.isArray(hello.sessions) ? (hello.sessions as unknown[]) : [];
  const sessions: { conn: number; user: number }[] = [];
  for (const s of given) {
    if (isPlainObject(s) && isConnId(s.conn) && isUserId(s.user as number)) sessions.push({ conn: s.conn, user: s.user as number });
  }
  return { hello: { gateway_id: id, sessions }, refused: given.length - sessions.length };
}
