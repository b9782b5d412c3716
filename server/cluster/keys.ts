// The cluster's keys in etcd and what their values hold. Everything read back
// from etcd is validated: a malformed value is ignored (and counted by the
// caller), never trusted.
import { PARTITIONS } from '../common/partitions';

export const NODES_PREFIX = '/wa/nodes/';
export const OWNERS_PREFIX = '/wa/owners/';

/** What a chat node announces under its lease. */
export interface NodeInfo {
  name: string;
  /** host:port of its gRPC server (gateways dial it). */
  grpc: string;
  started_ms: number;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._#-]{0,63}$/;
const ADDR_RE = /^[A-Za-z0-9.\-[\]:]{1,200}:\d{1,5}$/;

export function isNodeName(name: string): boolean {
  return NAME_RE.test(name);
}

export function nodeKey(name: string): string {
  return `${NODES_PREFIX}${name}`;
}

export function ownerKey(partition: number): string {
  return `${OWNERS_PREFIX}${String(partition).padStart(4, '0')}`;
}

/** The partition of an owner key, or null when the key is not one. */
export function partitionOfOwnerKey(key: string): number | null {
  if (!key.startsWith(OWNERS_PREFIX)) return null;
  const text = key.slice(OWNERS_PREFIX.length);
  if (!/^\d{4}$/.test(text)) return null;
  const p = Number(text);
  return p < PARTITIONS ? p : null;
}

export function parseNodeInfo(value: string): NodeInfo | null {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const { name, grpc, started_ms: startedMs } = v as Record<string, unknown>;
  if (typeof name !== 'string' || !isNodeName(name)) return null;
  if (typeof grpc !== 'string' || !ADDR_RE.test(grpc)) return null;
  if (typeof startedMs !== 'number' || !Number.isFinite(startedMs)) return null;
  return { name, grpc, started_ms: startedMs };
}

/** etcd endpoints from a comma list: each an http URL (bounded, validated). */
export function parseEndpoints(text: string): string[] {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0 || list.length > 16) throw new Error(`etcd endpoints "${text}": give 1 to 16 comma-separated http://host:port URLs`);
  for (const e of list) {
    if (!/^https?:\/\/[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(e)) throw new Error(`etcd endpoint "${e}" is not http://host:port`);
  }
  return list;
}
