// The distributed-run rehearsal: the smoke scenario as N shards, each
// `loadgen run --shard i/N --start-at T` in its own network namespace (as on N
// machines), against one system on the host side, then `loadgen merge`; the
// merged counts must equal those of one unsharded run of the same scenario
// against the same system.
//
// Network: for shard i the test creates namespace wa-<pid>-s<i> and a veth
// pair, 10.X.<i>.1/24 on the host side and 10.X.<i>.2/24 inside (X: the first
// of 213..250 with no address on this machine); the system stays on loopback,
// and a TCP relay of the test listens on each host-side address (the
// namespaces cannot reach the host's 127.0.0.1). Every address is on
// 127.0.0.0/8 or these veth subnets. Where namespaces cannot be made (not
// root, no `ip netns`, a sandbox that refuses veth pairs: CI's was one) the
// shards run as N plain processes on loopback; the namespace test is then
// skipped with the reason, and the merge test still runs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createConnection, createServer, type Server } from 'node:net';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../server/common/paths';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { provisionUsers } from './helpers/system';
import { runNode, type NodeRun } from './helpers/run-node';
import type { RunSummary } from '../loadgen/engine/summary';

const CLI = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');
const SHARDS = 2;
const USERS = 200; // smoke's traffic model
/** Shards connect every user before T: a few seconds on this shared 2-core box, with room. */
const START_DELAY_MS = 12_000;
const RUN_TIMEOUT_MS = 90_000;

function ip(args: string[], ns?: string): { ok: boolean; err: string } {
  const r = spawnSync('ip', ns ? ['netns', 'exec', ns, 'ip', ...args] : args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: r.error ? String(r.error) : r.stderr.trim() };
}

/** The first 10.X (X in 213..250) with no address on this machine: a leftover or a neighbour's range is never reused. */
function freeSubnet(): string | undefined {
  const inUse = spawnSync('ip', ['-4', 'addr'], { encoding: 'utf8' }).stdout ?? '';
  for (let x = 213; x <= 250; x++) if (!inUse.includes(`inet 10.${x}.`)) return `10.${x}`;
  return undefined;
}

/** A plain TCP relay: host address -> the gateway on loopback. */
function relay(host: string, to: number): Promise<Server> {
  const server = createServer((a) => {
    const b = createConnection({ host: '127.0.0.1', port: to });
    a.pipe(b).pipe(a);
    a.on('error', () => b.destroy());
    b.on('error', () => a.destroy());
  });
  return new Promise((resolve, reject) => server.once('error', reject).listen(0, host, () => resolve(server)));
}

const count = (s: RunSummary, m: string) => s.metrics[m]?.values.count ?? 0;

describe('N shards in network namespaces merge to the counts of one run', { timeout: 300_000 }, () => {
  const base = join(REPO_ROOT, 'results', `${new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '')}-netns-shards-test`);
  const namespaces: string[] = [];
  const relays: Server[] = [];
  let sys: RunningSystem;
  let netns = false;
  /** Why the shards ran as plain processes, when they did. */
  let noNetns = '';
  let subnet = '';
  let single: RunSummary;
  let merged: RunSummary;
  let shardRuns: NodeRun[] = [];

  /** Namespace + veth for shard i; the reason when this machine does not allow it (what was made is removed again in `after`). */
  function makeNamespace(i: number): string | undefined {
    const ns = `wa-${process.pid}-s${i}`;
    const host = `wa${process.pid % 100000}h${i}`;
    const inner = `wa${process.pid % 100000}n${i}`;
    const made = ip(['netns', 'add', ns]);
    if (!made.ok) return `ip netns add ${ns}: ${made.err}`;
    namespaces.push(ns);
    const steps: [string[], string?][] = [
      [['link', 'add', host, 'type', 'veth', 'peer', 'name', inner]],
      [['link', 'set', inner, 'netns', ns]],
      [['addr', 'add', `${subnet}.${i}.1/24`, 'dev', host]],
      [['link', 'set', host, 'up']],
      [['link', 'set', 'lo', 'up'], ns],
      [['addr', 'add', `${subnet}.${i}.2/24`, 'dev', inner], ns],
      [['link', 'set', inner, 'up'], ns],
    ];
    for (const [args, where] of steps) {
      const r = ip(args, where);
      if (!r.ok) {
        ip(['link', 'del', host]); // a veth made before the failing step (deleting the namespace takes the inner end)
        return `ip ${where ? `(in ${ns}) ` : ''}${args.join(' ')}: ${r.err}`;
      }
    }
    return undefined;
  }

  before(async () => {
    mkdirSync(base, { recursive: true });
    subnet = freeSubnet() ?? '';
    if (process.getuid?.() !== 0) noNetns = 'not root';
    else if (!subnet) noNetns = 'every 10.213..250 range is in use here';
    else for (let i = 1; i <= SHARDS && !noNetns; i++) noNetns = makeNamespace(i) ?? '';
    netns = !noNetns;
    if (!netns) process.stderr.write(`netns-shards: network namespaces are not usable here (${noNetns}): rehearsing as plain processes\n`);
    sys = await startSystem({});
    const secret = sys.secret;
    // One block of users per run, provisioned from the host (the namespaces reach only the gateway).
    const userBase = 3_000_000_000 + (Date.now() % 1_000_000) * 1000;
    await provisionUsers(sys, userBase, USERS);
    await provisionUsers(sys, userBase + 100_000, USERS);
    const common = ['--duration', '3s', '--quiet', '--metrics-port', 'off', '--secret', secret];

    const one = await runNode(CLI, ['run', 'smoke', ...common, '--target', sys.gatewayUrl, '--user-base', String(userBase),
      '--out', join(base, 'single'), '--run-id', 'netns-single'], { cwd: REPO_ROOT, timeoutMs: RUN_TIMEOUT_MS, name: 'single run' });
    assert.ok(one.code === 0 || one.code === 99, `single run exited ${one.code}\n${one.stderr}`);
    single = JSON.parse(readFileSync(join(base, 'single', 'summary.json'), 'utf8')) as RunSummary;

    const port = Number(new URL(sys.gatewayUrl).port);
    const startAt = Date.now() + START_DELAY_MS;
    shardRuns = await Promise.all(Array.from({ length: SHARDS }, async (_, k) => {
      const i = k + 1;
      let target = sys.gatewayUrl;
      if (netns) {
        const r = await relay(`${subnet}.${i}.1`, port);
        relays.push(r);
        target = `ws://${subnet}.${i}.1:${(r.address() as { port: number }).port}/v1/ws`;
      }
      const args = ['run', 'smoke', ...common, '--shard', `${i}/${SHARDS}`, '--start-at', String(startAt), '--target', target,
        '--user-base', String(userBase + 100_000), '--out', join(base, `shard-${i}`), '--run-id', `netns-shard${i}`];
      // In the namespace: `ip netns exec <ns> node cli.js ...`.
      return runNode(CLI, args, { cwd: REPO_ROOT, timeoutMs: RUN_TIMEOUT_MS, name: `shard ${i}`, wrap: netns ? ['ip', 'netns', 'exec', namespaces[k]!] : undefined });
    }));
    shardRuns.forEach((r, k) => assert.ok(r.code === 0 || r.code === 99, `shard ${k + 1} exited ${r.code}\n${r.stderr}`));
    const m = await runNode(CLI, ['merge', ...Array.from({ length: SHARDS }, (_, k) => join(base, `shard-${k + 1}`)), '--out', join(base, 'merged'), '--quiet'],
      { cwd: REPO_ROOT, timeoutMs: 30_000, name: 'merge' });
    assert.ok(m.code === 0 || m.code === 99, `merge exited ${m.code}\n${m.stderr}`);
    merged = JSON.parse(readFileSync(join(base, 'merged', 'summary.json'), 'utf8')) as RunSummary;
  });

  after(async () => {
    for (const r of relays) r.close();
    await sys?.stop();
    for (const ns of namespaces) ip(['netns', 'del', ns]); // takes its veth pair with it
  });

  it('ran each shard in its own namespace, through its own veth', (t) => {
    if (!netns) return t.skip(`network namespaces are not usable here: ${noNetns}`);
    for (let k = 0; k < SHARDS; k++) {
      const s = JSON.parse(readFileSync(join(base, `shard-${k + 1}`, 'summary.json'), 'utf8')) as RunSummary;
      assert.deepEqual(s.target.urls.map((u) => new URL(u).hostname), [`${subnet}.${k + 1}.1`]);
      assert.deepEqual(s.shards, [{ index: k, count: SHARDS }]);
      assert.ok(count(s, 'messages_sent') > 0, `shard ${k + 1} sent`);
    }
  });

  it('the merged counts equal those of one run: scheduled, sent (or dropped, and counted), delivered; nothing lost, duplicated or reordered', () => {
    assert.ok(count(single, 'sends_scheduled') > 1000, `one run scheduled ${count(single, 'sends_scheduled')}`);
    const same = (m: string, of = (s: RunSummary) => count(s, m)) => assert.equal(of(merged), of(single), `${m}: merged ${of(merged)}, one run ${of(single)}`);
    // The schedule is the scenario's: the same sends, split over the shards.
    same('sends_scheduled');
    // On a loaded machine an iteration with no free VU is dropped (and counted): every scheduled send is sent or dropped.
    same('sent + dropped', (s) => count(s, 'messages_sent') + count(s, 'sends_dropped'));
    if (count(single, 'sends_dropped') + count(merged, 'sends_dropped') === 0) {
      for (const m of ['messages_sent', 'messages_delivered', 'sends_ok']) same(m);
    }
    for (const s of [single, merged]) assert.equal(count(s, 'messages_delivered'), count(s, 'messages_sent'), 'every sent message delivered');
    for (const m of ['delivery_lost', 'delivery_duplicated', 'delivery_out_of_order']) same(m);
    for (const m of ['delivery_lost', 'delivery_duplicated', 'delivery_out_of_order']) assert.equal(count(merged, m), 0, m);
    assert.equal(merged.setup.connected, single.setup.connected, 'every user connected once over the shards');
    assert.equal(merged.metrics.delivery_latency!.values.count, count(merged, 'messages_delivered'));
  });
});
