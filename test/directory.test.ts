// The routes and presence directory (server/directory/) against a real Redis
// started for the test (deploy/services/redis.ts): two gateways publish, two
// chat-node replicas follow. Bounds asserted here are the ones the design
// states (docs/design/014-directory.md).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import Redis from 'ioredis';
import { redisPing, startRedis, type RedisServer } from '../deploy/services/redis';
import { sleep, waitFor } from '../lib/async';
import { encodeMessage, decodeMessage } from '../server/directory/codec';
import { connectDirectory, type DirectoryClient } from '../server/directory/connect';
import { KEYS, type DirectoryLimits } from '../server/directory/limits';
import { RoutePublisher } from '../server/directory/publisher';
import { RouteReplica, type PresenceEvent, type RouteEvent } from '../server/directory/replica';

/** A short heartbeat TTL keeps the death tests quick; the bounds below are stated in its terms. */
const TTL_MS = 1000;
const GRACE_MS = 800;
const LIMITS: Partial<DirectoryLimits> = { alive_ttl_ms: TTL_MS, gone_grace_ms: GRACE_MS, reconnect_delay_ms_max: 200 };
/** A dead gateway is reported within its TTL, the grace, Redis's expiry sweep (10 Hz) and a loaded box's slack. */
const GONE_BOUND_MS = TTL_MS + GRACE_MS + 1200;
/** After Redis comes back: reconnect (<= 200 ms), the gateways' resync, the replicas' reloads. */
const RECOVERY_BOUND_MS = 5000;

class Recorder {
  readonly routes: RouteEvent[] = [];
  readonly presence: PresenceEvent[] = [];
  readonly gone: { gateway: string; atMs: number }[] = [];
  replica!: RouteReplica;
  handlers = {
    onRoute: (e: RouteEvent) => this.routes.push(e),
    onPresence: (e: PresenceEvent) => this.presence.push(e),
    onGatewayGone: (gateway: string) => this.gone.push({ gateway, atMs: Date.now() }),
  };
  /** "gw/conn" -> the up/down sequence this replica saw for it. */
  perConn(): Map<string, string> {
    const m = new Map<string, string>();
    for (const e of this.routes) m.set(`${e.gateway}/${e.conn}`, (m.get(`${e.gateway}/${e.conn}`) ?? '') + (e.up ? 'U' : 'D'));
    return m;
  }
}

describe('directory: routes and presence in Redis', () => {
  let redis: RedisServer;
  let admin: Redis;
  const opened: { close(): void | Promise<void> }[] = [];

  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    admin.on('error', () => {});
  });
  after(async () => {
    for (const o of opened.splice(0)) await o.close();
    admin.disconnect();
    await redis.stop();
  });
  beforeEach(async () => {
    for (const o of opened.splice(0)) await o.close();
    await admin.flushall();
  });

  async function client(name: string): Promise<DirectoryClient> {
    const c = await connectDirectory(redis.url, { timeoutMs: 3000, name, limits: LIMITS });
    opened.push(c);
    return c;
  }
  async function gateway(id: string): Promise<RoutePublisher> {
    const p = await RoutePublisher.start(await client(id), { gatewayId: id });
    opened.push({ close: () => p.halt() });
    return p;
  }
  async function replica(name: string): Promise<Recorder> {
    const rec = new Recorder();
    rec.replica = await RouteReplica.start(await client(name), { ...rec.handlers, name });
    opened.push(rec.replica);
    return rec;
  }

  test('ups and downs from two gateways reach both replicas, in order per conn, in the same order on both', async () => {
    const [g1, g2] = [await gateway('gw-1#a'), await gateway('gw-2#a')];
    const [r1, r2] = [await replica('chat-1'), await replica('chat-2')];
    // Turn 1: 20 sessions per gateway; turn 2: half go down and come back as new conns; turn 3: conn 1 flaps.
    for (let c = 1; c <= 20; c++) {
      g1.connected(c, 1000 + c);
      g2.connected(c, 2000 + c);
    }
    await sleep(0);
    await new Promise((r) => setImmediate(r));
    for (let c = 1; c <= 10; c++) {
      g1.disconnected(c, 1000 + c);
      g2.disconnected(c, 2000 + c);
      g1.connected(100 + c, 1000 + c);
    }
    await new Promise((r) => setImmediate(r));
    g2.connected(1, 3001);
    g2.disconnected(1, 3001);
    g2.connected(1, 3001); // up, down, up within one turn: each is applied and published, in order
    const expectedSessions = 20 + 10 + 1;
    for (const r of [r1, r2]) await waitFor(() => r.replica.sessions === expectedSessions, 3000, `replica holds ${expectedSessions} sessions`);
    for (const r of [r1, r2]) {
      const seqs = r.perConn();
      for (let c = 1; c <= 10; c++) assert.equal(seqs.get(`gw-1#a/${c}`), 'UD', `gw-1 conn ${c}`);
      for (let c = 11; c <= 20; c++) assert.equal(seqs.get(`gw-1#a/${c}`), 'U');
      for (let c = 101; c <= 110; c++) assert.equal(seqs.get(`gw-1#a/${c}`), 'U');
      assert.equal(seqs.get('gw-2#a/1'), 'UDUDU', 'conn 1 of gw-2: up (user 2001), down, then up, down, up (user 3001)');
      assert.deepEqual(r.replica.routesOf(3001), [{ gateway: 'gw-2#a', conn: 1 }]);
      assert.equal(r.replica.isOnline(2002), false);
      assert.equal(r.replica.isOnline(1002), true, 'user 1002 went down on conn 2 and is back on conn 102');
    }
    assert.deepEqual(r1.routes, r2.routes, 'both replicas saw the same changes in the same order');
    assert.equal(r1.replica.stats.malformed, 0);
  });

  test('a user on two gateways goes offline only when the last conn leaves, and last-seen is written once', async () => {
    const [g1, g2] = [await gateway('gw-1#b'), await gateway('gw-2#b')];
    const [r1, r2] = [await replica('chat-1'), await replica('chat-2')];
    const u = 5000;
    g1.connected(1, u);
    g2.connected(7, u);
    for (const r of [r1, r2]) await waitFor(() => r.replica.routesOf(u)?.length === 2, 3000, 'both sessions seen');
    const setsBefore = await setCalls(admin);
    g1.disconnected(1, u);
    await waitFor(() => r1.replica.routesOf(u)?.length === 1 && r2.replica.routesOf(u)?.length === 1, 3000, 'one session left');
    assert.equal(r1.replica.isOnline(u), true);
    assert.equal(await admin.get(KEYS.lastSeen(u)), null, 'no last-seen while a device is still connected');
    const t0 = Date.now();
    g2.disconnected(7, u);
    for (const r of [r1, r2]) await waitFor(() => !r.replica.isOnline(u), 3000, 'user offline');
    const lastSeen = Number(await admin.get(KEYS.lastSeen(u)));
    assert.ok(lastSeen >= t0 && lastSeen <= Date.now(), `last-seen ${lastSeen} is the moment the last device left`);
    assert.equal((await setCalls(admin)) - setsBefore, 1, 'exactly one SET (the last-seen) across both disconnects');
    assert.ok(Number(await admin.pttl(KEYS.lastSeen(u))) > 29 * 24 * 3600 * 1000, 'last-seen has its long TTL');
    for (const r of [r1, r2]) {
      assert.deepEqual(r.presence.filter((p) => p.user === u).map((p) => p.online), [true, false], 'online once, offline once');
      assert.equal(r.presence.at(-1)!.atMs, lastSeen, 'the offline event carries the same last-seen');
      assert.equal(await r.replica.lastSeen(u), lastSeen);
    }
  });

  test('the last two devices leaving from two gateways in the same instant: one offline, one last-seen write', async () => {
    const [g1, g2] = [await gateway('gw-1#c'), await gateway('gw-2#c')];
    const r1 = await replica('chat-1');
    for (let u = 1; u <= 50; u++) {
      g1.connected(u, 6000 + u);
      g2.connected(u, 6000 + u);
    }
    await waitFor(() => r1.replica.sessions === 100, 3000, '100 sessions');
    const setsBefore = await setCalls(admin);
    for (let u = 1; u <= 50; u++) {
      g1.disconnected(u, 6000 + u);
      g2.disconnected(u, 6000 + u);
    }
    await waitFor(() => r1.replica.onlineUsers === 0, 3000, 'everyone offline');
    assert.equal((await setCalls(admin)) - setsBefore, 50, 'one last-seen SET per user');
    assert.equal(r1.presence.filter((p) => !p.online).length, 50);
    assert.equal(await admin.exists(...Array.from({ length: 50 }, (_, i) => KEYS.routes(6001 + i))), 0, 'no routes left');
  });

  test(`a gateway that dies (no more heartbeats) is reported gone, its sessions down, within TTL + grace + ${GONE_BOUND_MS - TTL_MS - GRACE_MS} ms`, async () => {
    const [g1, g2] = [await gateway('gw-1#d'), await gateway('gw-2#d')];
    const [r1, r2] = [await replica('chat-1'), await replica('chat-2')];
    for (let c = 1; c <= 30; c++) g1.connected(c, 7000 + c);
    g2.connected(1, 7001); // user 7001 also sits on the gateway that lives
    for (const r of [r1, r2]) await waitFor(() => r.replica.sessions === 31, 3000, '31 sessions');
    const diedAt = Date.now();
    g1.halt(); // the process is gone: no heartbeat, no goodbye
    for (const r of [r1, r2]) await waitFor(() => r.gone.length === 1, GONE_BOUND_MS + 1000, 'gateway reported gone');
    for (const r of [r1, r2]) {
      const tookMs = r.gone[0]!.atMs - diedAt;
      assert.equal(r.gone[0]!.gateway, 'gw-1#d');
      assert.ok(tookMs >= TTL_MS + GRACE_MS - 400 && tookMs <= GONE_BOUND_MS, `gone after ${tookMs} ms (TTL ${TTL_MS})`);
      assert.equal(r.replica.sessions, 1);
      assert.equal(r.routes.filter((e) => !e.up).length, 30, 'every conn of the dead gateway went down');
      assert.equal(r.replica.isOnline(7001), true, 'a user still on the other gateway stays online');
      assert.equal(r.replica.isOnline(7002), false);
    }
    await waitFor(async () => (await admin.exists(KEYS.conns('gw-1#d'))) === 0, 2000, 'dead gateway reaped');
    assert.ok(Number(await admin.get(KEYS.lastSeen(7002))) >= diedAt, 'reaping writes the last-seen of users it took offline');
    assert.deepEqual(await admin.hgetall(KEYS.routes(7001)), { 'gw-2#d': '1' });
    assert.equal(g2.isLive, true);
  });

  test('a paused gateway declared dead comes back: its heartbeat finds the key gone and it re-announces', async () => {
    const g1 = await gateway('gw-1#e');
    const r1 = await replica('chat-1');
    g1.connected(1, 8001);
    await waitFor(() => r1.replica.isOnline(8001), 3000, 'up');
    await admin.del(KEYS.alive('gw-1#e')); // what an expiry does, without the wait; replicas learn it at the next reload
    await waitFor(() => g1.stats.heartbeatsFoundDead === 1, 2 * TTL_MS, 'heartbeat noticed');
    await waitFor(() => g1.stats.resyncs === 2, 2000, 'resync done');
    assert.equal(await admin.exists(KEYS.alive('gw-1#e')), 1, 'heartbeat key back');
    assert.equal(await admin.hget(KEYS.conns('gw-1#e'), '1'), '8001', 'its session is in Redis');
    assert.equal(r1.replica.isOnline(8001), true);
    assert.equal(r1.replica.stats.reloads, 1, 'the replica reloaded the gateway on its "R" marker');
  });

  test(`Redis killed and restarted empty: replicas keep serving, then reconcile within ${RECOVERY_BOUND_MS} ms`, async () => {
    const [g1, g2] = [await gateway('gw-1#f'), await gateway('gw-2#f')];
    const [r1, r2] = [await replica('chat-1'), await replica('chat-2')];
    for (let c = 1; c <= 20; c++) {
      g1.connected(c, 9000 + c);
      g2.connected(c, 9100 + c);
    }
    for (const r of [r1, r2]) await waitFor(() => r.replica.sessions === 40, 3000, '40 sessions');
    await redis.proc.kill();
    await sleep(300);
    for (const r of [r1, r2]) {
      assert.equal(r.replica.sessions, 40, 'nothing is cleared while Redis is down');
      assert.deepEqual(r.replica.routesOf(9001), [{ gateway: 'gw-1#f', conn: 1 }], 'routes still answer from memory');
    }
    g1.disconnected(1, 9001); // during the outage
    g2.connected(50, 9150);
    await sleep(100);
    const backAt = Date.now();
    redis.proc.restart();
    await redis.proc.waitReady(() => redisPing(redis.port), 10_000);
    for (const r of [r1, r2]) {
      await waitFor(() => !r.replica.isOnline(9001) && r.replica.isOnline(9150) && r.replica.sessions === 40, RECOVERY_BOUND_MS, 'reconciled');
    }
    const tookMs = Date.now() - backAt;
    for (const r of [r1, r2]) {
      const seqs = r.perConn();
      assert.equal(seqs.get('gw-1#f/1'), 'UD', 'the conn that left during the outage went down once');
      assert.equal(seqs.get('gw-2#f/50'), 'U', 'the conn that came during the outage went up');
      for (let c = 2; c <= 20; c++) assert.equal(seqs.get(`gw-1#f/${c}`), 'U', `conn ${c}: no flap (no down, no second up)`);
      assert.deepEqual(r.gone, [], 'no gateway was declared gone');
    }
    assert.equal(Number(await admin.hlen(KEYS.conns('gw-1#f'))), 19, 'Redis holds the sessions again');
    assert.ok(g1.stats.resyncs >= 2, 'the gateway re-announced');
    await waitFor(() => r1.replica.stats.snapshots >= 2 && r2.replica.stats.snapshots >= 2, 2000, 'replicas took a snapshot after the reconnect');
    assert.equal(r1.replica.sessions, 40, 'the snapshot agrees with what the markers reloaded');
    console.log(`# redis restart: reconciled ${tookMs} ms after Redis was back`);
  });

  test('Redis paused (SIGSTOP) past the heartbeat TTL: every heartbeat key expires at once, yet no gateway is declared gone', async () => {
    const [g1, g2] = [await gateway('gw-1#p'), await gateway('gw-2#p')];
    const r1 = await replica('chat-1');
    g1.connected(1, 9501);
    g2.connected(1, 9502);
    await waitFor(() => r1.replica.sessions === 2, 3000, 'up');
    redis.proc.pause();
    await sleep(TTL_MS + 500);
    redis.proc.resume();
    await waitFor(() => g1.stats.heartbeatsFoundDead + g2.stats.heartbeatsFoundDead >= 2, 3 * TTL_MS, 'both gateways noticed');
    await sleep(GRACE_MS + 500);
    assert.deepEqual(r1.gone, []);
    assert.equal(r1.routes.filter((e) => !e.up).length, 0, 'no session went down');
    assert.equal(r1.replica.sessions, 2);
    assert.equal(await admin.exists(KEYS.alive('gw-1#p'), KEYS.alive('gw-2#p')), 2);
  });

  test('a malformed message or hash field is counted and ignored, never applied', async () => {
    const g1 = await gateway('gw-1#g');
    const r1 = await replica('chat-1');
    const bad = [
      'garbage', '1|gw-1#g|x|1|+1.2', '1|gw 1|1|1|+1.2', '1|gw-1#g|5|1|+1.0', '1|gw-1#g|5|1|+1.-2', '1|gw-1#g|5|1|*1.2',
      '1|gw-1#g|5|1|+99999999999.2', '2|gw-1#g|5|1|+1.2', '1|gw-1#g|5|1|', '1|gw-1#g|5|1|+1.2,', 'x'.repeat(70_000),
    ];
    for (const text of bad) assert.equal(decodeMessage(text, 64 * 1024), null, text.slice(0, 40));
    for (const text of bad) await admin.publish(KEYS.channel, text);
    g1.connected(3, 4242);
    await waitFor(() => r1.replica.isOnline(4242), 3000, 'a valid change after the garbage still applies');
    assert.equal(r1.replica.stats.malformed, bad.length);
    assert.equal(r1.replica.sessions, 1);
    await admin.hset(KEYS.conns('gw-1#g'), 'nope', '1', '4', 'x');
    await admin.publish(KEYS.channel, encodeMessage({ kind: 'resync', gateway: 'gw-1#g', seq: 99, ms: Date.now() }));
    await waitFor(() => r1.replica.stats.reloads >= 1 && r1.replica.stats.malformed === bad.length + 2, 3000, 'reload counted bad fields');
    assert.equal(r1.replica.sessions, 1);
  });

  test('a clean gateway shutdown takes its sessions down and says it left', async () => {
    const g1 = await gateway('gw-1#h');
    const r1 = await replica('chat-1');
    g1.connected(1, 4300);
    g1.connected(2, 4301);
    await waitFor(() => r1.replica.sessions === 2, 3000, 'up');
    await g1.close();
    await waitFor(() => r1.gone.length === 1, 3000, 'left');
    assert.equal(r1.replica.sessions, 0);
    assert.equal(await admin.exists(KEYS.alive('gw-1#h'), KEYS.conns('gw-1#h')), 0);
  });

  test('bad configuration fails fast with a clear message', async () => {
    const t0 = Date.now();
    await assert.rejects(connectDirectory('redis://127.0.0.1:1', { timeoutMs: 1500 }), /Redis at redis:\/\/127\.0\.0\.1:1 not reachable within 1500 ms/);
    assert.ok(Date.now() - t0 < 2500, `rejected after ${Date.now() - t0} ms`);
    await assert.rejects(connectDirectory('http://127.0.0.1:6380'), /must start with redis:\/\//);
    await assert.rejects(connectDirectory('not a url'), /is not a URL/);
    const c = await client('x');
    await assert.rejects(RoutePublisher.start(c, { gatewayId: 'gw:1' }), /gateway id/);
  });
});

/** SET commands Redis has run (scripts' included), from INFO commandstats. */
async function setCalls(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  return Number(/cmdstat_set:calls=(\d+)/.exec(info)?.[1] ?? 0);
}
