// Gateways and chat nodes authenticate each other on every gRPC call, with a
// key derived from the token secret both already hold (WA_TOKEN_SECRET):
//   gateway -> chat node: request metadata `wa-peer-auth: <who>.<ms>.<nonce>.<mac>`,
//     mac = HMAC(key, "client|who|ms|nonce"); the node refuses a missing, stale
//     (peer_auth_skew_ms) or forged proof with UNAUTHENTICATED;
//   chat node -> gateway: response metadata `wa-peer-auth: <who>.<ms>.<mac>`,
//     mac = HMAC(key, "server|who|ms|<the gateway's nonce>"), so a proof cannot
//     be replayed to another call; the gateway drops a link whose node does
//     not prove itself before the first batch.
// This is authentication, not encryption: the hops run on a private network
// (TLS between tiers is not in this build; TLS ends at the load balancer).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const PEER_AUTH_HEADER = 'wa-peer-auth';
/** A proof older or newer than this (clock skew between hosts included) is refused. */
export const PEER_AUTH_SKEW_MS = 60_000;
const WHO_RE = /^[A-Za-z0-9._#-]{1,64}$/;
const PROOF_BYTES_MAX = 256;

/** The key both tiers derive from the shared token secret (never the token key itself). */
export function peerKey(tokenSecret: string): Buffer {
  return createHmac('sha256', tokenSecret).update('wa-peer-auth-v1').digest();
}

function mac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('base64url');
}

function sameMac(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A gateway's proof for one call, and the nonce the node's answer must bind to. */
export function clientProof(key: Buffer, who: string, nowMs = Date.now()): { proof: string; nonce: string } {
  if (!WHO_RE.test(who)) throw new Error(`peer auth: "${who}" is not a valid peer id`);
  const nonce = randomBytes(12).toString('base64url');
  return { proof: `${who}.${nowMs}.${nonce}.${mac(key, `client|${who}|${nowMs}|${nonce}`)}`, nonce };
}

/** The calling gateway's id and nonce, or null for a missing, malformed, stale or forged proof. */
export function verifyClientProof(key: Buffer, proof: unknown, nowMs = Date.now()): { who: string; nonce: string } | null {
  if (typeof proof !== 'string' || proof.length > PROOF_BYTES_MAX) return null;
  const parts = proof.split('.');
  if (parts.length !== 4) return null;
  const [who, ms, nonce, m] = parts as [string, string, string, string];
  if (!WHO_RE.test(who) || !/^\d{1,15}$/.test(ms) || !/^[A-Za-z0-9_-]{1,32}$/.test(nonce)) return null;
  if (Math.abs(nowMs - Number(ms)) > PEER_AUTH_SKEW_MS) return null;
  return sameMac(m, mac(key, `client|${who}|${ms}|${nonce}`)) ? { who, nonce } : null;
}

/** A chat node's answer to a call whose client sent `nonce`. */
export function serverProof(key: Buffer, who: string, nonce: string, nowMs = Date.now()): string {
  return `${who}.${nowMs}.${mac(key, `server|${who}|${nowMs}|${nonce}`)}`;
}

/** The answering node's id, or null when it did not prove itself for this call's nonce. */
export function verifyServerProof(key: Buffer, proof: unknown, nonce: string, nowMs = Date.now()): string | null {
  if (typeof proof !== 'string' || proof.length > PROOF_BYTES_MAX) return null;
  const parts = proof.split('.');
  if (parts.length !== 3) return null;
  const [who, ms, m] = parts as [string, string, string];
  if (!WHO_RE.test(who) || !/^\d{1,15}$/.test(ms)) return null;
  if (Math.abs(nowMs - Number(ms)) > PEER_AUTH_SKEW_MS) return null;
  return sameMac(m, mac(key, `server|${who}|${ms}|${nonce}`)) ? who : null;
}
