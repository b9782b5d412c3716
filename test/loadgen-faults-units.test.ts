// Faults declared in scenarios, without a system: the schema refuses bad
// faults with errors that say what is wrong; the shipped fault scenarios plan;
// the executor calls the targets in order and at their times, records every
// step, and never leaves a process frozen; the per-fault report attributes the
// timeline's counts to the fault that was the latest when they happened.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planRun } from '../loadgen/model/plan';
import { DEFAULT_TRAFFIC, type FaultSpec, type Scenario } from '../loadgen/model/scenario';
import { parseTopology, targetCounts, type FaultTarget } from '../loadgen/model/faults';
import { FaultExecutor } from '../loadgen/engine/fault-executor';
import type { FaultTargets } from '../loadgen/engine/fault-targets';
import { failedSendCounters, faultReport } from '../loadgen/engine/fault-report';
import { ReadinessMonitor } from '../loadgen/engine/readiness-monitor';
import type { IntervalRecord } from '../loadgen/engine/timeline';
import { topologyFaultTargets, type ProcessTopology, type TopologyRoleName } from '../loadgen/engine/topology-fault-targets';
import { ManagedProcess } from '../deploy/services/managed-process';
import { readFileSync } from 'node:fs';
import failover from '../scenarios/failover';
import rollingRestart from '../scenarios/rolling-restart';
import zoneLoss from '../scenarios/zone-loss';

function scenario(faults: FaultSpec[] | undefined, over: Partial<Scenario> = {}): Scenario {
  return {
    name: 't', description: 'test', production: { users: 2e9, messagesPerSecond: 1.16e6, notes: '' },
    scale: { factor: 1e-3, basis: 'test' },
    traffic: { ...DEFAULT_TRAFFIC, users: 100 },
    options: { scenarios: { chat: { executor: 'constant-arrival-rate', rate: 10, duration: '20s', preAllocatedVUs: 1 } } },
    faults,
    ...over,
  };
}

const plan = (faults: FaultSpec[] | undefined, over: Partial<Scenario> = {}) => planRun(scenario(faults, over));

describe('the fault schema', () => {
  test('valid faults resolve with their times, defaults and a label', () => {
    const p = plan([
      { at: '2s', target: 'gateway', action: 'kill', for: '1.5s' },
      { at: 5000, target: 'chat', index: 0, action: 'pause', for: '1s' },
      { at: '8s', target: 'chat', action: 'restart' },
      { at: '12s', target: 'gateway', action: 'stop' },
    ]);
    assert.deepEqual(p.faults.map((f) => [f.id, f.target, f.index, f.action, f.atMs, f.forMs, f.label]), [
      [0, 'gateway', 0, 'kill', 2000, 1500, 'kill gateway[0] for 1.5s'],
      [1, 'chat', 0, 'pause', 5000, 1000, 'pause chat[0] for 1s'],
      [2, 'chat', 0, 'restart', 8000, 0, 'restart chat[0]'],
      [3, 'gateway', 0, 'stop', 12000, 0, 'stop gateway[0]'],
    ]);
    assert.equal(p.topology, null);
    assert.deepEqual(plan(undefined).faults, []);
  });

  test('bad faults are refused, each with an error that names the problem', () => {
    const bad: [FaultSpec[], RegExp][] = [
      [[{ at: '1s', target: 'mysql' as FaultTarget, action: 'kill' }], /faults\[0\]\.target: "mysql" is not a target \(have chat, gateway, redis, etcd, cassandra, haproxy\)/],
      [[{ at: '1s', target: 'chat', action: 'crash' as 'kill' }], /faults\[0\]\.action: "crash" is not an action/],
      [[{ at: '1s', target: 'chat', index: 1, action: 'kill' }], /faults\[0\]: chat\[1\] does not exist: the single-process system has 1 chat process \(index 0\.\.0\)/],
      [[{ at: '1s', target: 'redis', action: 'kill' }], /faults\[0\]: redis\[0\] does not exist: the single-process system has no redis processes/],
      [[{ at: '1s', target: 'chat', index: -1, action: 'kill' }], /index must be an integer >= 0/],
      [[{ at: '25s', target: 'chat', action: 'kill' }], /faults\[0\]\.at \(25000 ms\) is beyond the run: the schedule ends at 20000 ms/],
      [[{ at: '19s', target: 'chat', action: 'kill', for: '2s' }], /ends at 21000 ms, after the schedule \(20000 ms\)/],
      [[{ at: '1s', target: 'chat', action: 'pause' }], /pause needs `for`/],
      [[{ at: '1s', target: 'chat', action: 'restart', for: '1s' }], /restart starts the process again at once/],
      [[{ at: '1s', target: 'chat', action: 'kill', for: '0s' }], /for must be > 0/],
      [[{ at: 'soon', target: 'chat', action: 'kill' }], /faults\[0\]\.at/],
      [[{ target: 'chat', action: 'kill' } as unknown as FaultSpec], /faults\[0\]\.at is required/],
      [[{ at: '1s', target: 'chat', action: 'kill', duration: '1s' } as unknown as FaultSpec], /unknown field "duration"/],
      [[{ at: '2s', target: 'chat', action: 'kill', for: '3s' }, { at: '4s', target: 'chat', action: 'pause', for: '1s' }],
        /faults\[0\] \(kill chat\[0\] for 3s at 2000 ms\) and faults\[1\] \(pause chat\[0\] for 1s at 4000 ms\) overlap on chat\[0\]/],
      [[{ at: '2s', target: 'chat', action: 'restart' }, { at: '2s', target: 'chat', action: 'stop' }], /overlap on chat\[0\]/],
    ];
    for (const [faults, re] of bad) assert.throws(() => plan(faults), re, JSON.stringify(faults));
  });

  test('faults on different processes may overlap; the same process after the first fault ended may not clash', () => {
    assert.doesNotThrow(() => plan([
      { at: '2s', target: 'chat', action: 'kill', for: '3s' },
      { at: '2s', target: 'gateway', action: 'kill', for: '3s' },
      { at: '5.1s', target: 'chat', action: 'pause', for: '1s' },
    ], { system: { gateways: 2 } }));
  });

  test('the topology decides how many processes each target has; --topology overrides the scenario', () => {
    assert.deepEqual(parseTopology('2x3'), { gateways: 2, chats: 3 });
    assert.throws(() => parseTopology('2-3'), /topology "2-3": expected GxM, e\.g\. 2x3/);
    assert.throws(() => parseTopology('0x3'), /topology 0x3: gateways must be within 1\.\.16, got 0/);
    assert.deepEqual(parseTopology(' 3X2 '), { gateways: 3, chats: 2 });
    const faults: FaultSpec[] = [{ at: '1s', target: 'chat', index: 2, action: 'kill' }, { at: '1s', target: 'redis', action: 'restart' }];
    assert.equal(plan(faults, { topology: '2x3' }).faults.length, 2);
    assert.throws(() => plan(faults, { topology: '2x2' }), /chat\[2\] does not exist: topology 2x2 has 2 chat processes \(index 0\.\.1\)/);
    assert.deepEqual(planRun(scenario(undefined, { topology: '2x2' }), { topology: '4x5' }).topology, { gateways: 4, chats: 5 });
    assert.throws(() => planRun(scenario(undefined), { topology: 'big' }), /--topology "big": expected GxM/);
    assert.throws(() => plan([{ at: '1s', target: 'cassandra', action: 'kill' }], { topology: '2x3' }),
      /cassandra\[0\] does not exist: topology 2x3 has no cassandra/);
    assert.equal(planRun(scenario([{ at: '1s', target: 'cassandra', index: 2, action: 'kill' }], { topology: '2x3' }),
      { targetCounts: targetCounts({ gateways: 2, chats: 3 }, 1, 3) }).faults.length, 1);
  });

  test('the store: sqlite by default on a topology; cassandra gives 3 cassandra targets; --store overrides; refused without a topology', () => {
    const kill2 = [{ at: '1s', target: 'cassandra' as const, index: 2, action: 'kill' as const, for: '2s' }];
    assert.equal(plan(undefined, { topology: '1x2' }).store, 'sqlite');
    assert.equal(plan(undefined).store, null, 'the single-process system: the embedded store');
    const p = plan(kill2, { topology: '1x2', store: 'cassandra' });
    assert.equal(p.store, 'cassandra');
    assert.equal(p.faults[0]!.label, 'kill cassandra[2] for 2s');
    assert.throws(() => plan([{ ...kill2[0]!, index: 3 }], { topology: '1x2', store: 'cassandra' }),
      /cassandra\[3\] does not exist: topology 1x2 on the Cassandra cluster has 3 cassandra processes \(index 0\.\.2\)/);
    assert.equal(planRun(scenario(kill2, { topology: '1x2' }), { store: 'cassandra' }).store, 'cassandra');
    assert.throws(() => planRun(scenario(kill2, { topology: '1x2', store: 'cassandra' }), { store: 'sqlite' }), /cassandra\[2\] does not exist/);
    assert.throws(() => plan(undefined, { store: 'cassandra' }), /store cassandra: the store is chosen for a topology/);
    assert.throws(() => planRun(scenario(undefined), { store: 'cassandra' }), /--store cassandra: the store is chosen for a topology/);
    assert.throws(() => plan(undefined, { topology: '1x2', store: 'scylla' }), /store "scylla": expected sqlite or cassandra/);
  });

  test('--duration stretches fault times with the rest of the scenario', () => {
    const p = planRun(scenario([{ at: '10s', target: 'chat', action: 'kill', for: '4s' }]), { durationMs: 10_000 });
    assert.deepEqual([p.faults[0]!.atMs, p.faults[0]!.forMs], [5000, 2000]);
  });
});

describe('the shipped fault scenarios', () => {
  test('failover: 2x3, a chat node killed mid-run, later a gateway; integrity thresholds', () => {
    const p = planRun(failover);
    assert.deepEqual(p.topology, { gateways: 2, chats: 3 });
    assert.deepEqual(p.faults.map((f) => f.label), ['kill chat[1] for 8s', 'kill gateway[1] for 5s']);
    assert.ok(p.faults[0]!.atMs > 0.2 * p.windowMs && p.faults[1]!.atMs > p.faults[0]!.atMs + p.faults[0]!.forMs);
    for (const m of ['delivery_lost', 'delivery_duplicated', 'delivery_out_of_order']) assert.ok(p.thresholds.some((t) => t.metric === m && t.source === 'count==0'), m);
  });

  test('rolling-restart: every chat node and gateway restarted once, in turn; zero failed sends is a threshold', () => {
    const p = planRun(rollingRestart);
    const t = p.topology!;
    assert.equal(p.faults.length, t.chats + t.gateways);
    for (let i = 0; i < t.chats; i++) assert.ok(p.faults.some((f) => f.target === 'chat' && f.index === i && f.action === 'restart'));
    for (let i = 0; i < t.gateways; i++) assert.ok(p.faults.some((f) => f.target === 'gateway' && f.index === i && f.action === 'restart'));
    const starts = p.faults.map((f) => f.atMs);
    assert.equal(new Set(starts).size, starts.length, 'one at a time');
    for (const m of ['messages_rejected', 'messages_unacknowledged', 'iteration_timeouts']) assert.ok(p.thresholds.some((x) => x.metric === m && x.source === 'count==0'), m);
  });

  test('zone-loss: a third of every tier at the same moment', () => {
    const p = planRun(zoneLoss);
    const t = p.topology!;
    const at = new Set(p.faults.map((f) => f.atMs));
    assert.equal(at.size, 1, 'all at once');
    assert.equal(p.faults.filter((f) => f.target === 'chat').length, t.chats / 3);
    assert.equal(p.faults.filter((f) => f.target === 'gateway').length, t.gateways / 3);
  });
});

/** Fake targets that log each call with its time (ms after t0) and can be made to fail. */
function fakeTargets(t0: () => number, failOn = ''): FaultTargets & { calls: string[] } {
  const calls: string[] = [];
  const act = (what: string) => async (target: FaultTarget, i: number) => {
    calls.push(`${what} ${target}[${i}] @${Date.now() - t0()}`);
    if (`${what} ${target}` === failOn) throw new Error('refused');
  };
  return {
    calls, description: 'fakes', count: (t) => (t === 'chat' ? 2 : t === 'gateway' ? 1 : 0),
    kill: act('kill'), pause: act('pause'), resume: act('resume'), stop: act('stop'), start: act('start'),
  };
}

describe('the fault executor', () => {
  test('runs each action at its time, then brings the process back after `for`; records windows', async () => {
    let t0 = 0;
    const targets = fakeTargets(() => t0);
    const p = plan([
      { at: '100ms', target: 'chat', index: 1, action: 'kill', for: '200ms' },
      { at: '150ms', target: 'gateway', action: 'pause', for: '200ms' },
      { at: '400ms', target: 'chat', action: 'restart' },
    ], { topology: '1x2' });
    const downs: number[] = [];
    const ex = new FaultExecutor(p.faults, targets, () => {}, { down: (id) => downs.push(id) });
    t0 = Date.now();
    ex.start(t0);
    await new Promise((r) => setTimeout(r, 700));
    const records = await ex.finish();
    const expected: [string, number][] = [['kill chat[1]', 100], ['pause gateway[0]', 150], ['start chat[1]', 300], ['resume gateway[0]', 350],
      ['stop chat[0]', 400], ['start chat[0]', 400]];
    assert.deepEqual(targets.calls.map((c) => c.split(' @')[0]), expected.map(([what]) => what));
    targets.calls.forEach((c, k) => {
      const ms = Number(c.split(' @')[1]);
      // Timers fire late on a busy machine, never early.
      assert.ok(ms >= expected[k]![1] - 2 && ms < expected[k]![1] + 150, `${c}: planned at ${expected[k]![1]} ms`);
    });
    assert.deepEqual(downs, [0, 1, 2]);
    for (const r of records) {
      assert.deepEqual(r.errors, []);
      assert.ok(r.started_ms! >= r.planned_at_ms - 2 && r.started_ms! < r.planned_at_ms + 150, `${r.label} began on time (${r.started_ms})`);
      assert.ok(r.restored_ms! >= r.planned_at_ms + r.planned_for_ms - 2, `${r.label} restored after its for`);
      assert.ok(r.ended_ms! >= r.restored_ms!);
    }
  });

  test('finish() cancels faults not begun and resumes a frozen process at once', async () => {
    let t0 = 0;
    const targets = fakeTargets(() => t0);
    const p = plan([{ at: '50ms', target: 'chat', action: 'pause', for: '10s' }, { at: '15s', target: 'gateway', action: 'kill' }]);
    const ex = new FaultExecutor(p.faults, targets, () => {});
    t0 = Date.now();
    ex.start(t0);
    await new Promise((r) => setTimeout(r, 150));
    const records = await ex.finish();
    assert.deepEqual(targets.calls.map((c) => c.split(' @')[0]), ['pause chat[0]', 'resume chat[0]']);
    assert.ok(records[0]!.restored_ms! < 1000, 'resumed at the end, not after 10 s');
    assert.deepEqual(records[1]!.errors, ['not begun: the run ended first']);
    assert.equal(records[1]!.started_ms, null);
  });

  test('a step that fails is recorded with its error; the fault still ends', async () => {
    const targets = fakeTargets(() => 0, 'kill gateway');
    const ex = new FaultExecutor(plan([{ at: '10ms', target: 'gateway', action: 'kill', for: '50ms' }]).faults, targets, () => {});
    ex.start(Date.now());
    await new Promise((r) => setTimeout(r, 200));
    const [r] = await ex.finish();
    assert.deepEqual(r!.errors, ['kill: refused']);
    assert.equal(r!.down_ms, null, 'never down: the kill failed');
    assert.ok(r!.restored_ms !== null, 'start still ran');
  });

  test('refuses a fault on a process the targets do not have', () => {
    const p = planRun(scenario([{ at: '1s', target: 'chat', index: 1, action: 'kill' }], { topology: '1x2' }));
    assert.throws(() => new FaultExecutor(p.faults, { ...fakeTargets(() => 0), count: () => 1 }, () => {}), /fakes has 1 chat process/);
  });
});

describe('the per-fault report', () => {
  const rec = (index: number, counters: Record<string, number>): IntervalRecord =>
    ({ index, t_s: index + 1, counters, rates: {}, gauges: {}, trends: {}, histograms: {} });

  test('counts are summed from each fault start to the next; faults that began together share a span; lost is the run\'s', () => {
    // The failed-send counter: sends_failed with the client outbox's accounting, else the legacy ones (the first is enough here).
    const F = failedSendCounters()[0]!;
    const timeline = [
      rec(0, { [F]: 1 }), rec(1, {}), rec(2, { [F]: 5, delivery_duplicated: 1 }),
      rec(3, { [F]: 2, sends_retried: 4 }), rec(4, { delivery_out_of_order: 3 }), rec(5, { [F]: 1 }),
    ];
    const base = { planned_for_ms: 1000, down_ms: null, restored_ms: null, ended_ms: null, steps: [], errors: [], index: 0, action: 'kill' as const };
    const records = [
      { ...base, id: 0, label: 'kill chat[0]', target: 'chat' as const, planned_at_ms: 2000, started_ms: 2100, ended_ms: 3500 },
      { ...base, id: 1, label: 'kill gateway[0]', target: 'gateway' as const, planned_at_ms: 2000, started_ms: 2300, ended_ms: 3000 },
      { ...base, id: 2, label: 'kill chat[1]', target: 'chat' as const, planned_at_ms: 4000, started_ms: 4000 },
    ];
    const t0 = 1_000_000;
    const outcomes = new Map([[0, { down_epoch_ms: t0 + 2100, served_epoch_ms: t0 + 2900, chats: 16, chats_served: 16, attempts_failed: 3 }], [1, null], [2, null]]);
    const readiness = new Map([[0, { lost_epoch_ms: t0 + 2200, back_epoch_ms: t0 + 3300 }], [1, { lost_epoch_ms: null, back_epoch_ms: null }]]);
    const r = faultReport(records, { probe: outcomes, probeMethod: 'probe', readiness, readinessMethod: 'healthz' }, timeline, 1000, t0, 7);
    const [a, b, c] = r.faults;
    assert.deepEqual([a!.span, a!.shared_with, a!.sends_failed, a!.sends_retried, a!.duplicates, a!.reorderings], [{ from_s: 2, to_s: 4 }, [1], 7, 4, 1, 0]);
    if (failedSendCounters().length > 1) assert.deepEqual(a!.sends_failed_by, { [F]: 7 });
    assert.deepEqual([b!.span, b!.shared_with, b!.sends_failed], [{ from_s: 2, to_s: 4 }, [0], 7]);
    assert.deepEqual([c!.span, c!.sends_failed, c!.reorderings], [{ from_s: 4, to_s: 6 }, 1, 3]);
    assert.deepEqual([a!.served_again_at_s, a!.time_to_served_ms, b!.served_again_at_s], [2.9, 800, null]);
    assert.deepEqual(a!.window, { start_s: 2.1, end_s: 3.5 });
    assert.deepEqual(a!.readiness, { lost_at_s: 2.2, back_at_s: 3.3, time_to_ready_ms: 1200 });
    assert.deepEqual(b!.readiness, { lost_at_s: null, back_at_s: null, time_to_ready_ms: null }, 'never noticed');
    assert.equal(c!.readiness, null);
    assert.deepEqual([r.served_again_method, r.readiness_method], ['probe', 'healthz']);
    assert.deepEqual(r.before_faults, { sends_failed: 1, duplicates: 0, reorderings: 0 });
    assert.equal(r.lost_run_total, 7);
    assert.equal(r.lost_attribution, 'run');
  });
});

/** A process's state letter from /proc (S sleeping, T stopped); '' when it is gone. */
function procState(pid: number): string {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))![1]!;
  } catch {
    return '';
  }
}

describe('fault targets on a topology of managed processes (real processes: sleep)', () => {
  test('kill -9, SIGSTOP/SIGCONT, graceful stop and start act on the right process; finish() never leaves one frozen', async () => {
    const procs: Record<TopologyRoleName, ManagedProcess[]> = {
      chat: [0, 1].map((i) => new ManagedProcess({ name: `chat-${i}`, command: 'sleep', args: ['60'] }).start()),
      gateway: [new ManagedProcess({ name: 'gateway-0', command: 'sleep', args: ['60'] }).start()],
      redis: [], etcd: [], haproxy: [],
    };
    const restarted: string[] = [];
    const topo: ProcessTopology = {
      processes: (role) => procs[role],
      restart: async (role, i) => {
        const p = procs[role][i]!;
        if (p.running) await p.stop();
        p.restart();
        restarted.push(`${role}[${i}]`);
      },
      isolate: (role, i) => restarted.push(`isolate ${role}[${i}]`),
      heal: (role, i) => restarted.push(`heal ${role}[${i}]`),
    };
    const t = topologyFaultTargets(topo, 'topology 1x2');
    try {
      assert.deepEqual([t.count('chat'), t.count('gateway'), t.count('redis'), t.count('cassandra')], [2, 1, 0, 0]);
      const chat1 = procs.chat[1]!;
      const pid1 = chat1.pid;
      await t.pause('chat', 1);
      await waitState(pid1, 'T');
      assert.equal(procState(procs.chat[0]!.pid), 'S', 'the other chat node runs on');
      await t.resume('chat', 1);
      await waitState(pid1, 'S');
      await t.kill('chat', 1);
      assert.equal(chat1.running, false);
      assert.equal(chat1.child.signalCode, 'SIGKILL');
      await t.start('chat', 1);
      assert.ok(chat1.running && chat1.pid !== pid1, 'started again as a new process');
      await t.stop('gateway', 0);
      assert.equal(procs.gateway[0]!.child.signalCode, 'SIGTERM', 'a graceful stop is SIGTERM');
      await t.start('gateway', 0);
      assert.deepEqual(restarted, ['chat[1]', 'gateway[0]']);
      await assert.rejects(t.kill('redis', 0), /topology 1x2 has no redis\[0\]/);

      // Through the executor: a pause longer than the run is resumed when the run ends.
      const p = planRun(scenario([{ at: '10ms', target: 'chat', index: 0, action: 'pause', for: '15s' }], { topology: '1x2' }));
      const ex = new FaultExecutor(p.faults, t, () => {});
      ex.start(Date.now());
      await waitState(procs.chat[0]!.pid, 'T');
      const [r] = await ex.finish();
      await waitState(procs.chat[0]!.pid, 'S'); // resumed at the end of the run
      assert.deepEqual(r!.errors, []);
    } finally {
      for (const list of Object.values(procs)) for (const x of list) await x.kill();
    }
  });
});

async function waitState(pid: number, state: string): Promise<void> {
  for (let k = 0; k < 300 && procState(pid) !== state; k++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(procState(pid), state, `process ${pid} in state ${state}`);
}

describe('the readiness monitor', () => {
  test('says when readiness was lost after a moment and when it came back; a loss after the limit is not this fault\'s', async () => {
    let ok = true;
    const m = new ReadinessMonitor(async () => ok, 10);
    // Each phase lasts until the monitor has sampled it at least twice (bounded: a busy machine delays timers).
    const samples = async (n: number) => {
      const until = m.samples + n;
      for (let k = 0; k < 400 && m.samples < until; k++) await new Promise((r) => setTimeout(r, 5));
    };
    const t0 = Date.now();
    m.start();
    await samples(2);
    ok = false;
    const lostFrom = Date.now();
    await samples(2);
    ok = true;
    const backFrom = Date.now();
    await samples(2);
    await m.stop();
    const c = m.changeAfter(t0);
    assert.ok(c.lost_epoch_ms! >= lostFrom - 15 && c.lost_epoch_ms! <= backFrom, `lost at +${c.lost_epoch_ms! - t0} ms`);
    assert.ok(c.back_epoch_ms! >= backFrom - 15, `back at +${c.back_epoch_ms! - t0} ms`);
    assert.deepEqual(m.changeAfter(t0, lostFrom - 30), { lost_epoch_ms: null, back_epoch_ms: null }, 'nothing lost before the limit');
    assert.deepEqual(m.changeAfter(backFrom + 15), { lost_epoch_ms: null, back_epoch_ms: null });
  });
});
