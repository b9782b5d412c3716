// Gateways behind HAProxy (deploy/services/haproxy.ts), all real processes on
// loopback: clients connect through the load balancer, a gateway killed with
// kill -9 is taken out by the health checks and its clients reconnect through
// HAProxy without losing a message, and a gateway stopped with SIGTERM drains
// (503 on /healthz and to upgrades, then 1001) and exits 0.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { HAPROXY_CHECK, HAPROXY_LIMITS, startHaproxy, type HaproxyServer } from '../deploy/services/haproxy';
import { UpgradeRefused, connectTransport } from '../loadgen/client/transport';
import { mintToken } from '../server/common/token';
import { randomBytes } from 'node:crypto';
import { MediaClient } from '../loadgen/client/media-client';
import { directChatId } from '../server/common/chat-id';
import { sha256Hex } from '../server/media/hashing';
import { ReconnectingDevice } from './helpers/reconnecting-device';
import { newUserId, provisionFresh, sleep, text, waitFor } from './helpers/system';

const PAIRS = 10;
const MESSAGES_PER_SENDER = 20;
/** A short drain keeps the test fast; still longer than HAProxy's 2 checks x 500 ms. */
const DRAIN_MS = 1500;
/** Down within `fall` failed checks of `inter` each, plus one interval of phase and scheduling slack. */
const MARK_DOWN_MS_MAX = HAPROXY_CHECK.inter_ms * (HAPROXY_CHECK.fall + 1) + 500;

describe('gateways behind HAProxy', () => {
  let sys: RunningSystem;
  let hp: HaproxyServer;
  const senders: ReconnectingDevice[] = [];
  const receivers: ReconnectingDevice[] = [];
  const all = () => [...senders, ...receivers];

  before(async () => {
    sys = await startSystem({ gateways: 2, env: { WA_GATEWAY_DRAIN_MS: String(DRAIN_MS) } });
    hp = await startHaproxy({ serverPorts: sys.gatewayPorts });
    for (const p of sys.gatewayPorts) await hp.waitServer(p, true, 5000);
  });
  after(async () => {
    for (const d of all()) d.close();
    await hp?.stop();
    await sys?.stop();
  });

  /** Every sender sends `n` messages to its receiver, one at a time; returns the client_msg_ids acknowledged. */
  async function traffic(round: string, n: number, midway: () => Promise<void>): Promise<Set<string>> {
    const sent = new Set<string>();
    let done = 0;
    const senderLoops = senders.map(async (s, i) => {
      for (let k = 0; k < n; k++) {
        const cmid = `${round}-${s.userId}-${k}`;
        await s.sendReliably(receivers[i]!.userId, cmid, text(cmid));
        sent.add(cmid);
        if (++done === Math.floor((senders.length * n) / 2)) await midway();
        await sleep(10);
      }
    });
    await Promise.all(senderLoops);
    return sent;
  }

  async function assertAllArrived(sent: Set<string>, round: string): Promise<void> {
    const arrived = () => receivers.reduce((sum, r) => sum + [...r.received.keys()].filter((c) => c.startsWith(`${round}-`)).length, 0);
    await waitFor(() => arrived() === sent.size, 15_000, `${sent.size} messages of ${round} delivered`).catch(() => {});
    const missing = [...sent].filter((c) => !receivers.some((r) => r.received.has(c)));
    assert.deepEqual(missing, [], `acknowledged but never delivered (${round})`);
    assert.equal(arrived(), sent.size);
  }

  async function connectionsOn(i: number): Promise<number> {
    return (await sys.health(i)).connections;
  }

  test('HAProxy answers its own /haproxy-health and sees both gateways up', async () => {
    const res = await fetch(`${hp.httpUrl}/haproxy-health`);
    assert.equal(res.status, 200);
    const servers = await hp.servers();
    assert.deepEqual(servers.map((s) => [s.port, s.up]), sys.gatewayPorts.map((p) => [p, true]));
    // /healthz through HAProxy reaches a gateway (its JSON, not HAProxy's).
    const h = (await (await fetch(`${hp.httpUrl}/healthz`)).json()) as { status: string; chat_link: string };
    assert.equal(h.status, 'ok');
    assert.equal(h.chat_link, 'up');
  });

  test('a media upload through HAProxy goes back to the gateway holding its session (stick on the token), so it completes', async () => {
    // Without the stick table the chunks of one upload were spread over both gateways, and the one that did not open
    // the session answered 404 UPLOAD_NOT_FOUND (57 of 69 uploads of a --topology 2x1 run, 2026-12-06).
    const users = await provisionFresh(sys, 8);
    const uploads = [0, 2, 4, 6].map(async (i) => {
      const bytes = randomBytes(96 * 1024);
      const c = new MediaClient(hp.httpUrl, mintToken(sys.secret, users[i]!, 600));
      const d = { chat_id: directChatId(users[i]!, users[i + 1]!), kind: 'document', size: bytes.length, sha256: sha256Hex(bytes) };
      return c.upload(d, bytes, 8 * 1024); // 12 chunks, each a request HAProxy balances
    });
    for (const a of await Promise.all(uploads)) {
      assert.equal(a.status, 200, JSON.stringify(a.json));
      assert.equal(a.json.complete, true);
    }
  });

  test('clients connect through HAProxy, spread over both gateways (leastconn), and exchange messages', async () => {
    for (let i = 0; i < PAIRS; i++) {
      senders.push(new ReconnectingDevice(hp.url, newUserId(), sys.secret));
      receivers.push(new ReconnectingDevice(hp.url, newUserId(), sys.secret));
    }
    for (const d of all()) await d.connect();
    const counts = [await connectionsOn(0), await connectionsOn(1)];
    assert.equal(counts[0]! + counts[1]!, 2 * PAIRS);
    assert.ok(Math.abs(counts[0]! - counts[1]!) <= 2, `leastconn spreads ${2 * PAIRS} sockets evenly, got ${counts}`);
    const sent = await traffic('a', 5, async () => {});
    await assertAllArrived(sent, 'a');
  });

  test('kill -9 of a gateway: HAProxy marks it down within its check bound; its clients reconnect through HAProxy; nothing lost', async () => {
    const victim = 0;
    const onVictim = await connectionsOn(victim);
    assert.ok(onVictim > 0);
    const port = sys.gatewayPorts[victim]!;
    let markDownMs = -1;
    const sent = await traffic('b', MESSAGES_PER_SENDER, async () => {
      const t0 = Date.now();
      await sys.killGateway(victim);
      await hp.waitServer(port, false, 10_000);
      markDownMs = Date.now() - t0;
    });
    assert.ok(markDownMs >= 0 && markDownMs <= MARK_DOWN_MS_MAX, `marked down in ${markDownMs} ms (bound ${MARK_DOWN_MS_MAX})`);
    await assertAllArrived(sent, 'b');
    const dropped = all().filter((d) => d.closeCodes.length > 0);
    assert.equal(dropped.length, onVictim, 'exactly the victim\'s clients lost their socket');
    await waitFor(() => all().every((d) => d.connected), 10_000, 'every client connected again');
    assert.ok(dropped.every((d) => d.reconnects >= 1));
    assert.equal(await connectionsOn(1), 2 * PAIRS, 'all reconnected to the surviving gateway');
    console.log(`# kill -9: HAProxy marked the gateway down in ${markDownMs} ms; ${onVictim} clients reconnected; ` +
      `${sent.size} messages acknowledged and delivered; send retries ${all().reduce((s, d) => s + d.sendRetries, 0)}`);

    // Back to two gateways: the replacement has a new port, HAProxy reloads its server list.
    await sys.restartGateway(victim);
    await hp.setServers(sys.gatewayPorts);
    for (const p of sys.gatewayPorts) await hp.waitServer(p, true, 5000);
  });

  test('SIGTERM drains a gateway: /healthz 503 "draining", upgrades refused, clients closed with 1001 reconnect to the other, exit 0', async () => {
    const victim = 1;
    assert.equal(await connectionsOn(victim), 2 * PAIRS);
    const closesBefore = all().map((d) => d.closeCodes.length);
    const port = sys.gatewayPorts[victim]!;
    let exitCode: number | null = -1;
    let drainingSeen: { status: number; body: { status: string; connections: number } } | null = null;
    let directUpgrade = 0;
    const sent = await traffic('c', MESSAGES_PER_SENDER, async () => {
      const exited = sys.drainGateway(victim).then((c) => (exitCode = c));
      // Within the drain window: 503 with the usual JSON fields, and a direct upgrade is refused with 503.
      await waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
        if (res?.status === 503) drainingSeen = { status: res.status, body: (await res.json()) as never };
        return drainingSeen !== null;
      }, DRAIN_MS, 'healthz 503');
      directUpgrade = await connectTransport({ url: `ws://127.0.0.1:${port}/v1/ws`, token: mintToken(sys.secret, newUserId(), 60) })
        .then((t) => (t.close(), 101), (err) => (err instanceof UpgradeRefused ? err.status : 0));
      await exited;
    });
    assert.equal(exitCode, 0);
    assert.ok(drainingSeen);
    const seen = drainingSeen as { status: number; body: { status: string; connections: number } };
    assert.equal(seen.body.status, 'draining');
    assert.ok('connections' in seen.body && 'chat_link' in seen.body && 'uws' in seen.body, 'the usual /healthz fields stay');
    assert.equal(directUpgrade, 503);
    await assertAllArrived(sent, 'c');
    const closes = all().flatMap((d, i) => d.closeCodes.slice(closesBefore[i]));
    assert.equal(closes.length, 2 * PAIRS);
    assert.ok(closes.every((c) => c === 1001), `every socket closed with 1001, got ${closes}`);
    await waitFor(() => all().every((d) => d.connected), 10_000, 'every client connected again');
    assert.equal(await connectionsOn(1 - victim), 2 * PAIRS);
    await hp.waitServer(port, false, MARK_DOWN_MS_MAX);
  });

  test('a reload to another number of gateways: new sockets reach the new list at once; old tunnels end within hard-stop-after and reconnect', async () => {
    const keep = sys.gatewayPorts[0]!;
    const closesBefore = all().map((d) => d.closeCodes.length);
    const t0 = Date.now();
    await hp.setServers([keep]);
    assert.deepEqual((await hp.servers()).map((s) => s.port), [keep]);
    const fresh = new ReconnectingDevice(hp.url, newUserId(), sys.secret);
    await fresh.connect();
    fresh.close();
    // The old worker hands its tunnels over to nobody: they drop at hard-stop-after and the clients come back.
    await waitFor(() => all().every((d, i) => d.closeCodes.length > closesBefore[i]!), HAPROXY_LIMITS.hard_stop_after_ms + 3000, 'old tunnels ended');
    const endedMs = Date.now() - t0;
    assert.ok(endedMs <= HAPROXY_LIMITS.hard_stop_after_ms + 3000, `ended after ${endedMs} ms`);
    await waitFor(() => all().every((d) => d.connected), 10_000, 'every client connected again');
    const sent = await traffic('d', 3, async () => {});
    await assertAllArrived(sent, 'd');
  });
});
