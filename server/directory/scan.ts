// Bounded scans of the directory's keys: SCAN/HSCAN in pages of
// scan_page_keys, at most scan_calls_max calls (Redis stays responsive
// between pages; a runaway cursor is a bug and throws).
import type Redis from 'ioredis';
import { isUserId } from '../common/validation';
import { decimal } from './codec';
import { isConnId, type DirectoryLimits } from './limits';

export interface ScanCounters {
  /** Fields or keys that did not parse (counted, skipped). */
  malformed: number;
}

/** conn -> user of a gateway's conns hash; malformed fields are skipped and counted. */
export async function scanHash(redis: Redis, key: string, limits: DirectoryLimits, counters?: ScanCounters): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  let cursor = '0';
  for (let calls = 0; ; calls++) {
    if (calls >= limits.scan_calls_max) throw new Error(`HSCAN ${key}: more than scan_calls_max=${limits.scan_calls_max} calls`);
    const [next, fields] = await redis.hscan(key, cursor, 'COUNT', limits.scan_page_keys);
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const conn = decimal(fields[i]!);
      const user = decimal(fields[i + 1]!);
      if (conn === null || user === null || !isConnId(conn) || !isUserId(user)) {
        if (counters) counters.malformed++;
        continue;
      }
      out.set(conn, user);
    }
    cursor = next;
    if (cursor === '0') return out;
  }
}

/** Every key matching `pattern` (SCAN returns a key more than once at times: a set). */
export async function scanKeys(redis: Redis, pattern: string, limits: DirectoryLimits): Promise<Set<string>> {
  const out = new Set<string>();
  let cursor = '0';
  for (let calls = 0; ; calls++) {
    if (calls >= limits.scan_calls_max) throw new Error(`SCAN ${pattern}: more than scan_calls_max=${limits.scan_calls_max} calls`);
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', limits.scan_page_keys);
    for (const k of keys) out.add(k);
    cursor = next;
    if (cursor === '0') return out;
  }
}
