// The directory's writes as Lua scripts: each runs atomically in Redis, so two
// gateways taking a user's last two devices away at once still leave exactly
// one "offline" and one last-seen write (the per-user count of conns per
// gateway is decremented inside the same script that checks it).
//
// Keys a script builds from the user id (routes, last-seen) are not declared
// in KEYS: fine on one Redis, not on Redis Cluster (it would need hash tags).
import type Redis from 'ioredis';

/** A session goes down: the conn leaves the gateway's hash, the user's count there drops; the last one sets last-seen. */
const DOWN = `
local function down(conns, gw, conn, now, ttl, rp, lp)
  local u = redis.call('HGET', conns, conn)
  if not u then return nil end
  redis.call('HDEL', conns, conn)
  local rk = rp .. u
  if redis.call('HINCRBY', rk, gw, -1) <= 0 then
    redis.call('HDEL', rk, gw)
    if redis.call('EXISTS', rk) == 0 then redis.call('SET', lp .. u, now, 'PX', ttl) end
  end
  return u
end
`;

/**
 * KEYS: conns hash, alive key. ARGV: gateway, seq, now ms, last-seen TTL ms, channel, routes prefix,
 * last-seen prefix, then (op '+'|'-', conn, user) triples. Returns -1 when the gateway's heartbeat key
 * is gone (it was declared dead: nothing is applied, the gateway must resync), else the changes
 * published (no-ops, such as an up for a conn already there, are left out of the message).
 */
export const APPLY_LUA = `${DOWN}
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
local gw, now, ttl, rp, lp = ARGV[1], ARGV[3], ARGV[4], ARGV[6], ARGV[7]
local out = {}
for i = 8, #ARGV, 3 do
  local op, conn, user = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if op == '+' then
    if redis.call('HSETNX', KEYS[1], conn, user) == 1 then
      redis.call('HINCRBY', rp .. user, gw, 1)
      out[#out + 1] = '+' .. conn .. '.' .. user
    end
  else
    local u = down(KEYS[1], gw, conn, now, ttl, rp, lp)
    if u then out[#out + 1] = '-' .. conn .. '.' .. u end
  end
end
if #out > 0 then
  redis.call('PUBLISH', ARGV[5], '1|' .. gw .. '|' .. ARGV[2] .. '|' .. now .. '|' .. table.concat(out, ','))
end
return #out
`;

/**
 * Takes up to ARGV[6] sessions of a dead gateway down (its heartbeat key KEYS[2] expired) and returns
 * how many are left, or -1 when the gateway is alive again (nothing touched). Callers loop until 0;
 * any number of replicas may reap the same gateway at once (each call is atomic and idempotent).
 * KEYS: conns hash, alive key. ARGV: gateway, now ms, last-seen TTL ms, routes prefix, last-seen prefix, batch.
 */
export const REAP_LUA = `${DOWN}
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local gw, now, ttl, rp, lp = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local page = redis.call('HSCAN', KEYS[1], 0, 'COUNT', ARGV[6])
local fields = page[2]
for i = 1, #fields, 2 do down(KEYS[1], gw, fields[i], now, ttl, rp, lp) end
return redis.call('HLEN', KEYS[1])
`;

export interface DirectoryCommands {
  waApply(connsKey: string, aliveKey: string, ...args: (string | number)[]): Promise<number>;
  waReap(connsKey: string, aliveKey: string, ...args: (string | number)[]): Promise<number>;
}

/** Registers the scripts on a client (EVALSHA, falling back to EVAL after a Redis restart forgot them). */
export function defineScripts(redis: Redis): Redis & DirectoryCommands {
  redis.defineCommand('waApply', { numberOfKeys: 2, lua: APPLY_LUA });
  redis.defineCommand('waReap', { numberOfKeys: 2, lua: REAP_LUA });
  return redis as Redis & DirectoryCommands;
}
