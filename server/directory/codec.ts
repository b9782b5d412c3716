// The one pub/sub message format of the directory. The publisher's Lua script
// (scripts.ts) builds it; replicas decode it here, and every field is checked:
// a malformed message is dropped and counted by the caller, never applied.
//
//   1|<gateway>|<seq>|<ms>|+<conn>.<user>,-<conn>.<user>,...   session changes, in the order applied
//   1|<gateway>|<seq>|<ms>|R                                    the gateway re-announced every session
//   1|<gateway>|<seq>|<ms>|X                                    the gateway left cleanly (all its sessions went down before)
//
// <seq> counts the gateway's messages (a gap tells a replica it missed one);
// <ms> is the gateway's clock when the turn was applied (the last-seen of users
// who went offline in it). ~12 bytes per change: a turn of 100 changes is ~1.2 KB.
import { isUserId } from '../common/validation';
import { isConnId, isGatewayId } from './limits';

export const CODEC_VERSION = '1';

export interface SessionChange {
  up: boolean;
  conn: number;
  user: number;
}

export type DirectoryMessage =
  | { kind: 'changes'; gateway: string; seq: number; ms: number; changes: SessionChange[] }
  | { kind: 'resync' | 'left'; gateway: string; seq: number; ms: number };

/** The message a publisher sends (tests and the bench build messages with it; the Lua script builds the same). */
export function encodeMessage(m: DirectoryMessage): string {
  const head = `${CODEC_VERSION}|${m.gateway}|${m.seq}|${m.ms}|`;
  if (m.kind !== 'changes') return head + (m.kind === 'resync' ? 'R' : 'X');
  return head + m.changes.map((c) => `${c.up ? '+' : '-'}${c.conn}.${c.user}`).join(',');
}

/** The message, or null when any part of it is malformed. */
export function decodeMessage(text: string, bytesMax: number): DirectoryMessage | null {
  if (text.length > bytesMax) return null;
  const parts = text.split('|');
  if (parts.length !== 5 || parts[0] !== CODEC_VERSION) return null;
  const [, gateway, seqText, msText, body] = parts as [string, string, string, string, string];
  const seq = decimal(seqText);
  const ms = decimal(msText);
  if (!isGatewayId(gateway) || seq === null || ms === null) return null;
  if (body === 'R') return { kind: 'resync', gateway, seq, ms };
  if (body === 'X') return { kind: 'left', gateway, seq, ms };
  const changes = decodeChanges(body);
  return changes ? { kind: 'changes', gateway, seq, ms, changes } : null;
}

function decodeChanges(body: string): SessionChange[] | null {
  if (body.length === 0) return null;
  const items = body.split(',');
  const changes: SessionChange[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const sign = item.charCodeAt(0);
    if (sign !== 43 /* + */ && sign !== 45 /* - */) return null;
    const dot = item.indexOf('.');
    if (dot < 0) return null;
    const conn = decimal(item.slice(1, dot));
    const user = decimal(item.slice(dot + 1));
    if (conn === null || user === null || !isConnId(conn) || !isUserId(user)) return null;
    changes[i] = { up: sign === 43, conn, user };
  }
  return changes;
}

/** A non-negative decimal integer with no sign, point or exponent, or null. */
export function decimal(text: string): number | null {
  if (text.length === 0 || text.length > 16) return null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}
