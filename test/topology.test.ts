// The multi-node launcher (deploy/topology.ts): --topology GxM parsing, and a
// real topology (etcd, Redis, chat node(s), gateways, HAProxy) started,
// faulted, restarted and stopped by the project's own code on loopback.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gatewayReady, parseTopology, startTopology, type Topology } from '../deploy/topology';
import { etcdHealthy } from '../deploy/services/etcd';
import { redisPing } from '../deploy/services/redis';
import { ChatClient } from '../loadgen/client/chat-client';
import type { MessageBody } from '../server/common/protocol';
import { mintToken } from '../server/common/token';
import type { RunSummary } from '../loadgen/engine/summary';
import { runNode } from './helpers/run-node';
import { newUserId, text, waitFor } from './helpers/system';

const CLI = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');

describe('parseTopology', () => {
  test('GxM reads gateways then chat nodes', () => {
    assert.deepEqual(parseTopology('2x3'), { gateways: 2, chats: 3 });
    assert.deepEqual(parseTopology('1x1'), { gateways: 1, chats: 1 });
    assert.deepEqual(parseTopology(' 16X16 '), { gateways: 16, chats: 16 });
  });
  test('anything else is refused with what was expected', () => {
    for (const bad of ['', '2', 'x3', '2x', '2x3x4', 'axb', '2*3', '-1x2', '2.5x1']) {
      assert.throws(() => parseTopology(bad), /expected GxM, e\.g\. 2x3/, bad);
    }
    assert.throws(() => parseTopology('0x1'), /gateways must be within 1\.\.16, got 0/);
    assert.throws(() => parseTopology('17x1'), /gateways must be within 1\.\.16, got 17/);
    assert.throws(() => parseTopology('1x0'), /chat nodes must be within 1\.\.16, got 0/);
    assert.throws(() => parseTopology('1x17'), /chat nodes must be within 1\.\.16, got 17/);
  });
});

async function connect(topo: Topology, userId: number, url = topo.url): Promise<ChatClient & { got: MessageBody[] }> {
  const c = (await ChatClient.connect({ url, token: mintToken(topo.secret, userId, 600), kind: 'lean' })) as ChatClient & { got: MessageBody[] };
  c.got = [];
  c.onMessage = (m) => c.got.push(m);
  return c;
}

describe('startTopology 2x1: etcd, Redis, one chat node, two gateways behind HAProxy', () => {
  test('starts every process, carries messages through HAProxy, survives a gateway kill and restart, stops everything', async () => {
    const topo = await startTopology({ gateways: 2, chats: 1, env: { WA_GATEWAY_DRAIN_MS: '500' } });
    let stopped = false;
    try {
      assert.equal(topo.processes('chat').length, 1);
      assert.equal(topo.processes('gateway').length, 2);
      for (const role of ['redis', 'haproxy'] as const) assert.equal(topo.processes(role).length, 1, role);
      assert.equal(topo.processes('etcd').length, 3, 'a 3-member etcd');
      assert.ok(topo.pids().length === 8 && topo.pids().every(([, pid]) => pid > 0), JSON.stringify(topo.pids()));
      for (const port of topo.etcd.clientPorts) assert.ok(await etcdHealthy(port));
      assert.ok(await redisPing(topo.redis.port));
      for (let i = 0; i < 2; i++) assert.ok(gatewayReady(await topo.gatewayHealth(i)));
      assert.match(topo.url, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/ws$/);
      assert.deepEqual(topo.gatewayUrls, topo.gatewayPorts.map((p) => `ws://127.0.0.1:${p}/v1/ws`));

      // Through HAProxy: both users connect, one sends, the other receives.
      const sendThrough = async (label: string) => {
        const [ua, ub] = [newUserId(), newUserId()];
        const b = await connect(topo, ub);
        const a = await connect(topo, ua);
        // b's session reaches the chat node through its own gateway: a send through the other one can get there
        // first and find b unknown (seen once in a fresh clone's make test); wait for b as a client would retry.
        let ack: Awaited<ReturnType<typeof a.send>> | null = null;
        for (let i = 0; !ack; i++) {
          ack = await a.send(ub, text(label), `${label}-${ua}`).catch((err: Error) => {
            if (i >= 20 || !/UNKNOWN_USER/.test(err.message)) throw err;
            return new Promise<null>((r) => setTimeout(() => r(null), 100));
          });
        }
        await waitFor(() => b.got.some((m) => m.id === ack.id), 5000, `${label} delivered`);
        a.close();
        b.close();
      };
      await sendThrough('before');

      // kill -9 a gateway: HAProxy takes it out; clients still get through; restart brings it back on its port.
      const port = topo.gatewayPorts[0]!;
      await topo.kill('gateway', 0);
      assert.equal(topo.processes('gateway')[0]!.running, false);
      await topo.haproxy.waitServer(port, false, 3000);
      await sendThrough('one gateway down');
      await topo.restart('gateway', 0);
      assert.equal(topo.gatewayPorts[0], port);
      await topo.haproxy.waitServer(port, true, 3000);
      await sendThrough('after restart');

      // SIGSTOP / SIGCONT of the chat node: frozen, then serving again.
      topo.pause('chat', 0);
      await new Promise((r) => setTimeout(r, 200));
      topo.resume('chat', 0);
      await sendThrough('after pause');

      // restart(role) of every other role: a new process on the same ports, the topology ready again.
      for (const role of ['chat', 'redis', 'etcd', 'haproxy'] as const) {
        const before = topo.processes(role)[0]!.pid;
        await topo.restart(role, 0);
        const after = topo.processes(role)[0]!;
        assert.ok(after.running && after.pid !== before, `${role} runs again as a new process`);
        await sendThrough(`after ${role} restart`);
      }

      const procs = (['etcd', 'redis', 'chat', 'gateway', 'haproxy'] as const).flatMap((r) => topo.processes(r));
      const dirs = [topo.dataDir, topo.etcd.dataDir, topo.haproxy.configPath];
      await topo.stop();
      stopped = true;
      assert.ok(procs.every((p) => !p.running), 'every process exited');
      for (const d of dirs) assert.equal(existsSync(d), false, `${d} removed`);
    } finally {
      if (!stopped) await topo.stop();
    }
  });
});

describe('startTopology 2x3', () => {
  test('2 gateways and 3 chat nodes: every gateway routes all 1,024 partitions; users on different nodes and gateways talk',
    async () => {
      const topo = await startTopology({ gateways: 2, chats: 3 });
      try {
        for (let i = 0; i < 2; i++) {
          const h = await topo.gatewayHealth(i);
          assert.equal(h.cluster?.nodes, 3);
          assert.equal(h.cluster?.partitions_routable, 1024);
        }
        const users = Array.from({ length: 8 }, () => newUserId());
        const clients = [];
        for (const [i, u] of users.entries()) clients.push(await connect(topo, u, topo.gatewayUrls[i % 2]));
        const acks: { id: number }[] = [];
        for (let i = 0; i < users.length; i++) acks.push(await clients[i]!.send(users[(i + 1) % users.length]!, text(`m${i}`)));
        for (let i = 0; i < users.length; i++) {
          const c = clients[(i + 1) % users.length]!;
          await waitFor(() => c.got.some((m) => m.id === acks[i]!.id), 5000, `m${i} delivered`);
        }
        for (const c of clients) c.close();
        // A chat node killed: the others take its partitions; gateways route everything again.
        await topo.kill('chat', 1);
        await topo.waitGatewaysReady(15_000);
        await topo.restart('chat', 1);
      } finally {
        await topo.stop();
      }
    });
});

describe('loadgen run --topology GxM', () => {
  const cli = (args: string[]) => runNode(CLI, args, { cwd: join(__dirname, '..', '..'), timeoutMs: 60_000, name: `loadgen ${args.join(' ')}` });

  test('a malformed or out-of-range topology, or one with --target, is refused before anything starts: exit code 104', async () => {
    const bad = await cli(['run', 'smoke', '--topology', '17x1', '--quiet']);
    assert.equal(bad.code, 104);
    assert.match(bad.stderr, /--topology 17x1: gateways must be within 1\.\.16/);
    // With a token provider, so the check that fails is the combination, not the missing tokens.
    const both = await cli(['run', 'smoke', '--topology', '1x1', '--target', 'ws://127.0.0.1:1/v1/ws', '--secret', 'a-generated-test-secret-'.padEnd(40, 'x'), '--quiet']);
    assert.equal(both.code, 104);
    assert.match(both.stderr, /does not combine with --target/);
  });

  test('1x1: the run starts etcd, Redis, a chat node, a gateway and HAProxy, sends through HAProxy, and reports each process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lg-topo-'));
    try {
      const r = await cli(['run', 'smoke', '--topology', '1x1', '--users', '20', '--duration', '2s', '--quiet', '--metrics-port', 'off', '--out', dir]);
      assert.ok(r.code === 0 || r.code === 99, `exit ${r.code}: ${r.stderr.slice(-2000)}`);
      assert.match(r.stderr, /setup: HAProxy ws:\/\/127\.0\.0\.1:\d+\/v1\/ws/);
      const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
      assert.deepEqual(Object.keys(s.system ?? {}).sort(), ['chat-0', 'etcd-0', 'etcd-1', 'etcd-2', 'gateway-0', 'haproxy', 'redis']);
      assert.equal(s.target.urls.length, 1, 'every client goes through HAProxy');
      assert.ok((s.metrics.messages_delivered?.values.count ?? 0) > 0);
      assert.equal(s.metrics.delivery_lost?.values.count ?? 0, 0);
      // Each interval of the timeline has every server process's CPU (the coordination bench's steady-state window).
      const withCpu = s.timeline.filter((rec) => rec.system_cpu_s);
      assert.ok(withCpu.length >= 2, `${withCpu.length} of ${s.timeline.length} intervals with system_cpu_s`);
      assert.deepEqual(Object.keys(withCpu[0]!.system_cpu_s!).sort(), Object.keys(s.system ?? {}).sort());
      const chatCpuS = withCpu.reduce((sum, rec) => sum + rec.system_cpu_s!['chat-0']!, 0);
      assert.ok(chatCpuS > 0 && chatCpuS <= s.system!['chat-0']!.cpu_s + 0.5, `chat-0: ${chatCpuS} s over the intervals, ${s.system!['chat-0']!.cpu_s} s in the summary`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
