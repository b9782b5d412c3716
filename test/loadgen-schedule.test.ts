// The schedule as the outputs read it (loadgen/engine/schedule.ts): the count
// of iterations due by time t is the area under the executor's rate curve and
// agrees with the executors' own schedule (iteration n due at timeOf(n)), so
// wa_loadgen_messages_scheduled_total and the report's scheduled line say what
// the executors really scheduled.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ResolvedExecutor, RunPlan } from '../loadgen/model/plan';
import { iterationsDue, iterationsScheduled, messagesDue, messagesScheduled, scheduledRate } from '../loadgen/engine/schedule';
import { rampPieces, rampTimeOf } from '../loadgen/executors/ramping-arrival-rate';
import { constantSchedule } from '../loadgen/executors/constant-arrival-rate';
import { segmentsOf } from '../loadgen/model/segments';

function executor(over: Partial<ResolvedExecutor>): ResolvedExecutor {
  return {
    name: 'x', index: 0, executor: 'constant-arrival-rate', exec: 'chat', startMs: 0, durationMs: 10_000, gracefulStopMs: 0, timeUnitMs: 1000,
    rate: 0, startRate: 0, stages: [], preAllocatedVUs: 1, maxVUs: 1, vus: 0, startVUs: 0, iterations: 0, gracefulRampDownMs: 0, ...over,
  } as ResolvedExecutor;
}

describe('schedule: iterations due and the scheduled rate', () => {
  it('constant-arrival-rate: rate x time inside the executor\'s window, nothing before or after', () => {
    const e = executor({ rate: 1000, startMs: 2000, durationMs: 5000 });
    assert.equal(iterationsDue(e, 0), 0);
    assert.equal(iterationsDue(e, 2000), 0);
    assert.equal(iterationsDue(e, 4500), 2500);
    assert.equal(iterationsDue(e, 7000), 5000);
    assert.equal(iterationsDue(e, 60_000), 5000);
    assert.equal(scheduledRate(e, 1999), 0);
    assert.equal(scheduledRate(e, 3000), 1000);
    assert.equal(iterationsDue(executor({ rate: 50, timeUnitMs: 100, durationMs: 1000 }), 1000), 500, 'timeUnit other than 1 s');
  });

  it('ramping-arrival-rate: matches the executor\'s own due times, stage by stage', () => {
    const stages = [{ durationMs: 4000, target: 2000 }, { durationMs: 3000, target: 2000 }, { durationMs: 3000, target: 500 }];
    const e = executor({ executor: 'ramping-arrival-rate', startRate: 100, stages, durationMs: 10_000, startMs: 500 });
    const pieces = rampPieces(100, stages, 1000);
    for (const t of [0, 500, 1000, 3100, 4500, 6000, 8200, 10_400, 10_500, 12_000]) {
      // The executor's count: iterations n with timeOf(n) < t (local time).
      let n = 0;
      while (rampTimeOf(pieces, n) < t - 500) n++;
      const due = iterationsDue(e, t)!;
      assert.ok(Math.abs(due - n) <= 1, `t=${t}: area ${due} vs ${n} iterations due`);
    }
    // The rate is the slope of the count.
    for (const t of [1500, 5000, 9000]) {
      const slope = (iterationsDue(e, t + 1)! - iterationsDue(e, t - 1)!) / 2 * 1000;
      assert.ok(Math.abs(slope - scheduledRate(e, t)!) < 1, `t=${t}: slope ${slope} vs rate ${scheduledRate(e, t)}`);
    }
  });

  it('closed-model executors have no schedule; only message-sending executors count as scheduled messages', () => {
    assert.equal(iterationsDue(executor({ executor: 'constant-vus', vus: 10 }), 5000), null);
    const plan = {
      executors: [executor({ rate: 100 }), executor({ name: 'r', exec: 'reconnect', rate: 50 }), executor({ name: 'v', executor: 'constant-vus', vus: 5 })],
    } as RunPlan;
    assert.equal(messagesDue(plan, 2000), 200);
  });

});

describe('schedule: iterations the executors start (whole numbers, per segment)', () => {
  /** The executors' count, one by one: n due at timeOf(n) <= local time and before the end. */
  const bruteForce = (timeOf: (n: number) => number, local: number, durationMs: number) => {
    let n = 0;
    while (timeOf(n) <= local && timeOf(n) < durationMs) n++;
    return n;
  };

  it('constant-arrival-rate: the ceiling of a fractional area at the end (what --duration 3s makes of smoke), exact at every t', () => {
    const e = executor({ rate: 6000 / 7, startMs: 1000, durationMs: 3000 });
    assert.equal(iterationsDue(e, 4000), 6000 / 7 * 3, 'the area: 2571.43');
    assert.equal(iterationsScheduled(e, 4000), 2572);
    assert.equal(iterationsScheduled(e, 60_000), 2572);
    assert.equal(iterationsScheduled(e, 999), 0);
    assert.equal(iterationsScheduled(e, 1000), 1, 'iteration 0 is due at the start');
    const s = constantSchedule(e);
    for (const t of [1000.5, 1001, 1700, 2166.6, 3333, 3999.9]) assert.equal(iterationsScheduled(e, t), bruteForce(s.timeOf, t - 1000, 3000), `t=${t}`);
    // An integer area: n = area is due exactly at the end, which is not in the window.
    assert.equal(iterationsScheduled(executor({ rate: 1000, durationMs: 5000 }), 60_000), 5000);
  });

  it('ramping-arrival-rate: the executor\'s own due times, at every t', () => {
    const stages = [{ durationMs: 4000, target: 2000 }, { durationMs: 3000, target: 2000 }, { durationMs: 3000, target: 517 }];
    const e = executor({ executor: 'ramping-arrival-rate', startRate: 100, stages, durationMs: 10_000, startMs: 500 });
    const pieces = rampPieces(100, stages, 1000);
    for (const t of [500, 1000, 3100, 4500, 6000, 8200, 10_400, 10_500, 12_000]) {
      assert.equal(iterationsScheduled(e, t), bruteForce((n) => rampTimeOf(pieces, n), t - 500, 10_000), `t=${t}`);
    }
  });

  it('the segments of 3 shards x 2 workers split every executor\'s iterations without overlap: their shares add up to the whole', () => {
    const plan = {
      executors: [executor({ rate: 6000 / 7, durationMs: 3000 }), executor({ name: 'r', exec: 'reconnect', rate: 50 })],
      traffic: { users: 60, contactsPerUser: 4 },
    } as unknown as RunPlan;
    for (const t of [0, 1234, 2999, 5000]) {
      const whole = messagesScheduled(plan, t);
      const shares = [0, 1, 2].map((shard) => messagesScheduled(plan, t, segmentsOf(plan, shard, 3, 2)));
      assert.equal(shares.reduce((a, b) => a + b, 0), whole, `t=${t}: ${shares.join(' + ')} vs ${whole}`);
      assert.ok(Math.max(...shares) - Math.min(...shares) <= 2, `even split: ${shares.join(', ')}`);
    }
    assert.equal(messagesScheduled(plan, 5000), 2572, 'the reconnect executor sends no messages');
  });
});
