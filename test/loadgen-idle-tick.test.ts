// The scheduler sleeps while a worker is quiet until the next time an executor
// has something to do (docs/design/023-connections-at-scale.md): that time,
// Executor.nextTickAt, for connect-ramp's two phases, on a fake clock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import connectRamp from '../scenarios/connect-ramp';
import { planRun } from '../loadgen/model/plan';
import { createExecutor } from '../loadgen/executors';
import type { ExecutorHost, Vu } from '../loadgen/executors/executor';
import { MetricsRegistry } from '../loadgen/metrics/registry';

describe('Executor.nextTickAt', () => {
  test('waiting: its start; running: its next due iteration; done: never', () => {
    const plan = planRun(connectRamp, { users: 100 });
    let now = 0;
    const host: ExecutorHost = {
      now: () => now, t0: 0, metrics: new MetricsRegistry(plan.executors.map((e) => e.name)), segment: { index: 0, count: 1 },
      workload: () => ({ iterate: (vu: Vu) => vu.executor.iterationDone(vu, vu.gen, true) }),
      wake: () => {},
    };
    const [ramp, hold] = plan.executors.map((cfg) => createExecutor(cfg, host));
    assert.equal(hold!.nextTickAt(now), 7000, 'the hold starts at 7 s');
    ramp!.tick(now);
    const next = ramp!.nextTickAt(now);
    assert.ok(next > 0 && next <= 1, `the ramp starts at 1,000/s: its next iteration within 1 ms (${next})`);
    now = 7000;
    hold!.tick(now);
    assert.equal(hold!.state, 'running');
    assert.equal(hold!.nextTickAt(now), 8000, 'one idle iteration a second: nothing before the next');
    for (now = 8000; now <= 17_000; now += 1000) hold!.tick(now);
    assert.equal(hold!.state, 'done');
    assert.equal(hold!.nextTickAt(now), Infinity);
  });
});
