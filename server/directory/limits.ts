// The directory's limits and key names (server/directory/). Kept here, beside
// the only code that uses them, until the cluster settings join
// server/common/config.ts; nothing here reads the environment.

export interface DirectoryLimits {
  /** A gateway's heartbeat key lives this long; a gateway silent for longer is gone and its sessions go down. */
  alive_ttl_ms: number;
  /** The heartbeat refreshes the key every alive_ttl_ms / this: two missed beats still leave it alive. */
  alive_beats_per_ttl: number;
  /**
   * A gateway whose heartbeat key expired is declared gone only if the key is still missing this much
   * later: after Redis itself was paused past the TTL every key expires at once, and the live gateways
   * put theirs back within one heartbeat (alive_ttl_ms / alive_beats_per_ttl), so nobody flaps.
   */
  gone_grace_ms: number;
  /** last-seen of an offline user is kept this long (WhatsApp shows "last seen" for weeks). */
  last_seen_ttl_ms: number;
  /** SCAN/HSCAN COUNT hint while loading a snapshot: bounds the work of one Redis call (Redis blocks while it runs). */
  scan_page_keys: number;
  /** SCAN/HSCAN calls in one snapshot before it gives up (a runaway scan is a bug, not a big directory). */
  scan_calls_max: number;
  /** Session changes in one script call; a larger turn is split (bounds how long Redis runs one script). */
  script_changes_max: number;
  /** Pub/sub messages and loads a replica holds while a snapshot is loading; past it the queue is dropped and a full snapshot taken. */
  replica_queue_items_max: number;
  /** A pub/sub message longer than this is malformed (script_changes_max changes of ~24 bytes fit). */
  message_bytes_max: number;
  /** A Redis command that has not answered within this fails (a SIGSTOPped Redis must not hang a load forever). */
  command_timeout_ms: number;
  /** Longest wait between reconnect attempts: a restarted Redis is found within this. */
  reconnect_delay_ms_max: number;
}

export const DIRECTORY_LIMITS: Readonly<DirectoryLimits> = Object.freeze({
  alive_ttl_ms: 3000,
  alive_beats_per_ttl: 3,
  gone_grace_ms: 1500,
  last_seen_ttl_ms: 30 * 24 * 3600 * 1000,
  scan_page_keys: 500,
  scan_calls_max: 100_000,
  script_changes_max: 1000,
  replica_queue_items_max: 100_000,
  message_bytes_max: 64 * 1024,
  command_timeout_ms: 2000,
  reconnect_delay_ms_max: 500,
});

/** The Lua scripts build per-user keys from these (scripts.ts takes them as arguments). */
export const KEY_PREFIX = { routes: 'wa:routes:', lastSeen: 'wa:lastseen:' } as const;

/** Everything the directory keeps in Redis, one place. */
export const KEYS = {
  /** hash conn -> user: the sessions a gateway holds. */
  conns: (gw: string): string => `wa:gw:${gw}:conns`,
  /** the gateway's heartbeat (expires when it stops beating). */
  alive: (gw: string): string => `wa:gw:${gw}:alive`,
  /** hash gateway -> number of the user's conns there; exists iff the user is online. */
  routes: (user: number): string => `${KEY_PREFIX.routes}${user}`,
  /** ms of the user's last disconnect, while offline. */
  lastSeen: (user: number): string => `${KEY_PREFIX.lastSeen}${user}`,
  /** SCAN pattern of every gateway's conns hash. */
  connsPattern: 'wa:gw:*:conns',
  /** SCAN pattern of every heartbeat key. */
  alivePattern: 'wa:gw:*:alive',
  /** The one channel every change goes out on. */
  channel: 'wa:routes:changes',
  /** Where Redis announces expired keys of database `db` (needs notify-keyspace-events with E and x). */
  expiredChannel: (db: number): string => `__keyevent@${db}__:expired`,
} as const;

/** The heartbeat key's value: "r" while the gateway rewrites its hash (a resync), "ok" after. */
export const ALIVE_RESYNCING = 'r';
export const ALIVE_SETTLED = 'ok';

/** Gateway ids become parts of keys and messages: no ':', '|', ',' or spaces. */
const GATEWAY_ID = /^[A-Za-z0-9._#-]{1,64}$/;

export function isGatewayId(s: string): boolean {
  return GATEWAY_ID.test(s);
}

/** The gateway of a `wa:gw:<gw>:conns` or `wa:gw:<gw>:alive` key, or null when the key is not one (or the id is malformed). */
export function gatewayOfKey(key: string, suffix: 'conns' | 'alive'): string | null {
  const tail = `:${suffix}`;
  if (!key.startsWith('wa:gw:') || !key.endsWith(tail)) return null;
  const gw = key.slice(6, key.length - tail.length);
  return isGatewayId(gw) ? gw : null;
}

/** Connection ids are the gateway's uint32 counters. */
export function isConnId(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}
