// The load generator's pieces that need no sockets: durations, threshold
// parsing and evaluation (k6 semantics), arrival schedules, segments, the
// integrity tracker, the traffic model's validation and the hand-encoded
// Send frame (pinned against protobufjs).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDurationMs, formatDurationMs } from '../loadgen/model/duration';
import { parseThresholds, evaluateAll, abortingThreshold, EXIT_THRESHOLDS_FAILED } from '../loadgen/model/thresholds';
import { MetricsAggregate } from '../loadgen/metrics/aggregate';
import { LatencyHistogram } from '../loadgen/metrics/latency';
import { rampPieces, rampTimeOf } from '../loadgen/executors/ramping-arrival-rate';
import { planRun } from '../loadgen/model/plan';
import { segmentsOf, stripedShare } from '../loadgen/model/segments';
import { Arrival, StreamTracker, ABOVE_MAX } from '../loadgen/world/stream-tracker';
import { spreadPick } from '../loadgen/world/online-set';
import { GroupTable } from '../loadgen/world/groups';
import { Rng } from '../loadgen/model/distribution';
import { encodeGroupSendFrame, encodeSendFrame } from '../loadgen/drivers/system-connection';
import { encodeClientFrame, decodeClientFrame } from '../server/common/protocol';
import { DEFAULT_TRAFFIC, type Scenario } from '../loadgen/model/scenario';
import { analyseBreakpoint } from '../loadgen/engine/breakpoint';
import { intervalRecord } from '../loadgen/engine/timeline';
import { MetricsRegistry } from '../loadgen/metrics/registry';
import { exitCodeOf, sendsReport, type RunSummary } from '../loadgen/engine/summary';

function scenario(over: Partial<Scenario> = {}): Scenario {
  return {
    name: 't', description: 'test', production: { users: 2e9, messagesPerSecond: 1.16e6, notes: '' },
    scale: { factor: 1e-3, basis: 'test' },
    traffic: { ...DEFAULT_TRAFFIC, users: 100 },
    options: { scenarios: { chat: { executor: 'constant-arrival-rate', rate: 100, duration: '2s', preAllocatedVUs: 10 } } },
    ...over,
  };
}

function aggWith(trend: number[], counters: Record<string, number> = {}, rates: Record<string, [number, number]> = {}): MetricsAggregate {
  const agg = new MetricsAggregate();
  const h = agg.trendOf('delivery_latency');
  for (const v of trend) h.recordMs(v);
  for (const [k, v] of Object.entries(counters)) agg.counters.set(k, v);
  for (const [k, v] of Object.entries(rates)) agg.rates.set(k, v);
  agg.durationMs = 10_000;
  return agg;
}

describe('durations (k6 syntax)', () => {
  test('parses 500ms, 30s, 1m30s, 1h, 1.5s and numbers as ms', () => {
    assert.equal(parseDurationMs('500ms'), 500);
    assert.equal(parseDurationMs('30s'), 30_000);
    assert.equal(parseDurationMs('1m30s'), 90_000);
    assert.equal(parseDurationMs('1h'), 3_600_000);
    assert.equal(parseDurationMs('1.5s'), 1500);
    assert.equal(parseDurationMs(250), 250);
    assert.equal(formatDurationMs(90_000), '1m30s');
  });
  test('refuses garbage', () => {
    assert.throws(() => parseDurationMs('10'), /not a duration/);
    assert.throws(() => parseDurationMs('5 s'), /not a duration/);
    assert.throws(() => parseDurationMs('-1s'), /not a duration/);
  });
});

describe('thresholds', () => {
  test('parses every aggregation k6 has, with abortOnFail and delayAbortEval', () => {
    const t = parseThresholds({
      delivery_latency: ['p(99)<100', 'p(99.9) <= 250', 'avg<20', 'med<10', 'min>=0', 'max<1000', { threshold: 'p(95)<50', abortOnFail: true, delayAbortEval: '10s' }],
      delivery_lost: ['count==0'],
      messages_sent: ['rate>100'],
      delivery_success: ['rate>0.999'],
      vus: ['value<=1000'],
      'sent_ack_latency{scenario:chat}': ['p(99)<100'],
    }, ['chat']);
    assert.equal(t.length, 12);
    const abort = t.find((x) => x.abortOnFail)!;
    assert.equal(abort.delayAbortEvalMs, 10_000);
    assert.equal(abort.aggregation, 'p');
    assert.equal(abort.percentile, 95);
    assert.equal(t[1]!.percentile, 99.9);
    assert.equal(t[1]!.op, '<=');
  });
  test('rejects unknown metrics, aggregations that do not fit the type, bad syntax, unknown scenario tags', () => {
    assert.throws(() => parseThresholds({ delivery_latencyy: ['p(99)<100'] }, []), /no metric named "delivery_latencyy"/);
    assert.throws(() => parseThresholds({ delivery_lost: ['p(99)<1'] }, []), /does not apply to a counter/);
    assert.throws(() => parseThresholds({ delivery_latency: ['rate>0.9'] }, []), /does not apply to a trend/);
    assert.throws(() => parseThresholds({ delivery_latency: ['p99<100'] }, []), /expected <aggregation> <operator> <number>/);
    assert.throws(() => parseThresholds({ delivery_latency: ['p(99)=<100'] }, []), /expected/);
    assert.throws(() => parseThresholds({ 'delivery_latency{scenario:nope}': ['p(99)<100'] }, ['chat']), /no scenario named "nope"/);
    assert.throws(() => parseThresholds({ 'delivery_latency{group:x}': ['p(99)<100'] }, ['chat']), /only the \{scenario:<name>\} tag/);
  });
  test('evaluates against the metrics like k6: trends, counters (count and per-second rate), rates', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => i + 1); // 1..1000 ms
    const agg = aggWith(samples, { delivery_lost: 0, messages_sent: 5000 }, { delivery_success: [999, 1000] });
    const t = parseThresholds({
      delivery_latency: ['p(99)<1000', 'p(99)<900', 'avg<501', 'max>=1000', 'med>499'],
      delivery_lost: ['count==0'],
      messages_sent: ['rate>=500', 'count>5000'],
      delivery_success: ['rate>0.999', 'rate>=0.999'],
    }, []);
    const r = evaluateAll(t, agg);
    assert.deepEqual(r.map((x) => x.ok), [true, false, true, true, true, true, true, false, false, true]);
    assert.ok(Math.abs(r[0]!.actual - 990) <= 1, `p(99) of 1..1000 ms is ~990, got ${r[0]!.actual}`);
    assert.equal(r[6]!.actual, 500); // 5000 over 10 s
  });
  test('a trend without samples reads 0 (k6: nothing measured), a rate without samples fails rate>x', () => {
    const agg = new MetricsAggregate();
    const r = evaluateAll(parseThresholds({ delivery_latency: ['p(99)<100'], delivery_success: ['rate>0.5'] }, []), agg);
    assert.deepEqual(r.map((x) => x.ok), [true, false]);
  });
  test('abortOnFail fires only after delayAbortEval, and only for thresholds that carry it', () => {
    const agg = aggWith([500, 600, 700]);
    const t = parseThresholds({
      delivery_latency: [{ threshold: 'p(99)<100', abortOnFail: true, delayAbortEval: '5s' }, 'avg<1'],
    }, []);
    assert.equal(abortingThreshold(t, agg, 4_999), null);
    const fired = abortingThreshold(t, agg, 5_000);
    assert.ok(fired);
    assert.equal(fired.source, 'p(99)<100');
    const noAbort = parseThresholds({ delivery_latency: ['p(99)<100'] }, []);
    assert.equal(abortingThreshold(noAbort, agg, 60_000), null);
  });
  test('exit code: 99 when a threshold failed or abortOnFail stopped the run, 0 otherwise', () => {
    const base = { thresholds: { results: [], ok: true }, aborted: null } as unknown as RunSummary;
    assert.equal(exitCodeOf(base), 0);
    assert.equal(exitCodeOf({ ...base, thresholds: { results: [], ok: false } }), EXIT_THRESHOLDS_FAILED);
    assert.equal(EXIT_THRESHOLDS_FAILED, 99);
    assert.equal(exitCodeOf({ ...base, aborted: { reason: "threshold delivery_latency 'p(99)<1' failed", at_s: 3 } }), 99);
    assert.equal(exitCodeOf({ ...base, aborted: { reason: 'interrupted (SIGINT)', at_s: 3 } }), 105);
  });

  test('the send accounting adds up or the run fails (exit code 99)', () => {
    const agg = new MetricsAggregate();
    const reg = new MetricsRegistry(['chat']);
    reg.counter.sends_scheduled.add(10);
    reg.counter.sends_ok.add(6);
    reg.counter.sends_failed.add(2);
    reg.addLabelled('sends_failed', 'reason', 'timeout');
    reg.addLabelled('sends_failed', 'reason', 'QUEUE_FULL');
    reg.counter.sends_dropped.add(1);
    reg.counter.sends_queued_at_end.add(1);
    agg.addSnapshot(reg.takeSnapshot());
    const r = sendsReport(agg)!;
    assert.deepEqual(r.failed_by_reason, { timeout: 1, QUEUE_FULL: 1 });
    assert.equal(r.adds_up, true);
    const base = { thresholds: { results: [], ok: true }, aborted: null } as unknown as RunSummary;
    assert.equal(exitCodeOf({ ...base, reports: { sends: r } }), 0);
    // One send without an outcome: the run fails loudly.
    reg.counter.sends_scheduled.add(1);
    agg.addSnapshot(reg.takeSnapshot());
    const broken = sendsReport(agg)!;
    assert.equal(broken.adds_up, false);
    assert.equal(exitCodeOf({ ...base, reports: { sends: broken } }), EXIT_THRESHOLDS_FAILED);
    // A failure counted without its reason does not add up either.
    reg.counter.sends_failed.add(1);
    reg.counter.sends_scheduled.add(0);
    agg.addSnapshot(reg.takeSnapshot());
    assert.equal(sendsReport(agg)!.scheduled, sendsReport(agg)!.ok + sendsReport(agg)!.failed + 2);
    assert.equal(sendsReport(agg)!.adds_up, false, 'failed 3 but reasons for 2');
    assert.equal(sendsReport(new MetricsAggregate()), null, 'no sends scheduled: no report');
  });
});

describe('arrival schedules and segments', () => {
  test('a linear ramp schedules exactly the area under the rate curve', () => {
    // 0 -> 1000/s over 10 s, then 1000/s for 5 s: 5000 + 5000 iterations.
    const pieces = rampPieces(0, [{ durationMs: 10_000, target: 1000 }, { durationMs: 5_000, target: 1000 }], 1000);
    const hint = { i: 0 };
    let n = 0;
    let last = -1;
    while (rampTimeOf(pieces, n, hint) !== Infinity) {
      const t = rampTimeOf(pieces, n, hint);
      assert.ok(t >= last, 'due times never go backwards');
      last = t;
      n++;
    }
    assert.equal(n, 10_000);
    // Half-way through the ramp (t = 5 s) the area is 1250.
    assert.ok(Math.abs(rampTimeOf(pieces, 1250) - 5000) < 1e-6);
  });
  test('striping splits VUs and iterations so that the segments add up to the whole', () => {
    for (const total of [1, 7, 100, 1001]) {
      for (const count of [1, 2, 3, 8]) {
        let sum = 0;
        for (let index = 0; index < count; index++) sum += stripedShare(total, { index, count });
        assert.equal(sum, total, `${total} over ${count}`);
      }
    }
  });
  test('users are cut into contiguous slices per shard and worker, covering everyone once', () => {
    const plan = planRun(scenario({ traffic: { ...DEFAULT_TRAFFIC, users: 1003, contactsPerUser: 4 } }));
    const all = [0, 1, 2].flatMap((shard) => segmentsOf(plan, shard, 3, 2));
    assert.equal(all.reduce((a, s) => a + s.users, 0), 1003);
    for (let i = 1; i < all.length; i++) assert.equal(all[i]!.userFirst, all[i - 1]!.userFirst + all[i - 1]!.users);
    assert.throws(() => segmentsOf(planRun(scenario({ traffic: { ...DEFAULT_TRAFFIC, users: 10, contactsPerUser: 4 } })), 0, 1, 4),
      /fewer than contactsPerUser \+ 1/);
  });
  test('a share of users is spread evenly (online share, drop share)', () => {
    const picked = Array.from({ length: 1000 }, (_, u) => spreadPick(u, 0.3)).filter(Boolean).length;
    assert.equal(picked, 300);
    assert.equal(Array.from({ length: 10 }, (_, u) => spreadPick(u, 1)).filter(Boolean).length, 10);
    assert.equal(Array.from({ length: 10 }, (_, u) => spreadPick(u, 0)).filter(Boolean).length, 0);
  });
});

describe('breakpoint analysis', () => {
  const timeline = (p99s: number[]) => p99s.map((lat, i) => {
    const reg = new MetricsRegistry(['ramp']);
    for (let k = 0; k < 100; k++) reg.trend.delivery_latency.record(lat);
    reg.counter.messages_delivered.add(100 * (i + 1));
    reg.counter.messages_sent.add(100 * (i + 1));
    return intervalRecord(i, 1000, [reg.takeSnapshot()]);
  });
  const executors = planRun(scenario({ options: { scenarios: { ramp: { executor: 'constant-vus', vus: 1, duration: '20s' } } } })).executors;
  const spec = { thresholds: { delivery_latency: ['p(99)<100'] }, window: '2s', sustain: '4s' };

  test('a failure that lasts is the break; the capacity is the best window that held before it', () => {
    const bp = analyseBreakpoint(spec, timeline([10, 10, 10, 10, 10, 10, 500, 500, 500, 500, 10]), 1000, 11_000, executors);
    assert.equal(bp.first_failure?.t_s, 7);
    assert.equal(bp.capacity_msgs_per_s, 550); // window 5..6 s: (500 + 600) / 2
    assert.equal(bp.capacity_at_s, 6);
    assert.equal(bp.not_reached, false);
    assert.deepEqual(bp.blips, []);
  });
  test('a one-second blip is reported, not taken as the break', () => {
    const bp = analyseBreakpoint(spec, timeline([10, 10, 10, 500, 10, 10, 10, 10, 500, 500, 500, 500]), 1000, 12_000, executors);
    assert.deepEqual(bp.blips.map((b) => b.t_s), [4]);
    assert.equal(bp.first_failure?.t_s, 9);
    assert.equal(bp.capacity_msgs_per_s, 750); // window ending at 8 s
  });
  test('no break: not reached, the capacity is at least the best window', () => {
    const bp = analyseBreakpoint(spec, timeline([10, 10, 10, 10]), 1000, 4000, executors);
    assert.equal(bp.not_reached, true);
    assert.equal(bp.capacity_msgs_per_s, 350);
  });
});

describe('scenario validation', () => {
  test('--scale multiplies rates, VUs and users; --duration stretches every time', () => {
    const s = scenario({
      options: {
        scenarios: {
          a: { executor: 'constant-arrival-rate', rate: 100, duration: '10s', preAllocatedVUs: 10, maxVUs: 20 },
          b: { executor: 'ramping-arrival-rate', startRate: 0, stages: [{ duration: '5s', target: 50 }], startTime: '10s', preAllocatedVUs: 5 },
        },
      },
    });
    const p = planRun(s, { scale: 2, durationMs: 30_000 });
    assert.equal(p.traffic.users, 200);
    assert.equal(p.executors[0]!.rate, 200);
    assert.equal(p.executors[0]!.maxVUs, 40);
    assert.equal(p.executors[0]!.durationMs, 20_000);
    assert.equal(p.executors[1]!.startMs, 20_000);
    assert.equal(p.executors[1]!.stages[0]!.target, 100);
    assert.equal(p.windowMs, 30_000);
    assert.ok(Math.abs(p.scaleFactor - 2e-3) < 1e-12);
  });
  test('k6 executor fields are checked, typos included', () => {
    const bad = (cfg: unknown) => scenario({ options: { scenarios: { x: cfg as never } } });
    assert.throws(() => planRun(bad({ executor: 'constant-arrival-rate', rate: 10, duration: '1s' })), /preAllocatedVUs is required/);
    assert.throws(() => planRun(bad({ executor: 'constant-arrival-rate', rate: 10, duration: '1s', preAllocatedVUs: 1, maxVus: 5 })),
      /unknown field "maxVus"/);
    assert.throws(() => planRun(bad({ executor: 'shared-iterations', vus: 1, iterations: 1 })), /executor must be one of/);
    assert.throws(() => planRun(bad({ executor: 'constant-vus', vus: 1, duration: '1s', exec: 'groups' })), /not a workload/);
    assert.throws(() => planRun(bad({ executor: 'constant-vus', vus: 1, duration: '1s', exec: 'group' })), /exec "group" needs traffic.groupsPerUser > 0/);
    assert.throws(() => planRun(bad({ executor: 'ramping-vus', stages: [] })), /stages needs at least one/);
  });
  test('the group fields of the traffic model are validated', () => {
    const t = (over: object) => scenario({ traffic: { ...DEFAULT_TRAFFIC, users: 100, ...over } });
    assert.throws(() => planRun(t({ groupSize: 257 })), /groupSize: 257 is outside 2\.\.256/);
    assert.throws(() => planRun(t({ groupSize: { uniform: [1, 10] } })), /outside 2\.\.256/);
    assert.throws(() => planRun(t({ groupShare: 1.5 })), /groupShare must be a share/);
    assert.throws(() => planRun(t({ groupShare: 0.3, groupsPerUser: 0 })), /needs groupsPerUser > 0/);
    assert.doesNotThrow(() => planRun(t({ groupShare: 0.3, groupsPerUser: 2 })));
    assert.doesNotThrow(() => planRun(t({ groupShare: 0, groupSize: { weighted: [[4, 1], [256, 1]] }, groupsPerUser: 3 })));
    assert.throws(() => planRun(t({ messageBytes: 10 })), /messageBytes: 10 is outside/);
    assert.throws(() => planRun(t({ readReceipts: { probability: 2, delayMs: 0 } })), /probability must be a share/);
  });
});

describe('group table (the group workload\'s membership and integrity streams)', () => {
  const table = (users: number, over: object) => new GroupTable(users, { ...DEFAULT_TRAFFIC, users, ...over }, new Rng(1), 1000);
  test('groups cover users * groupsPerUser member slots, sizes clamped to the slice and to 256', () => {
    const g = table(1000, { groupSize: 256, groupsPerUser: 1 });
    assert.equal(g.count, 4);
    assert.deepEqual([...g.size], [256, 256, 256, 256]);
    assert.equal(g.recvStreams, 4 * 256 * 256);
    const small = table(10, { groupSize: 256, groupsPerUser: 1 });
    assert.deepEqual([...small.size], [10]);
    assert.equal(table(100, { groupsPerUser: 0 }).count, 0);
  });
  test('member <-> position and (sender, recipient) streams round-trip, wrapping around the slice', () => {
    const g = table(300, { groupSize: { uniform: [2, 256] }, groupsPerUser: 3 });
    const seen = new Set<number>();
    for (let i = 0; i < g.count; i++) {
      const s = g.size[i]!;
      for (const pos of [0, 1, s - 1]) {
        const u = g.member(i, pos);
        assert.equal(g.positionOf(i, u), pos);
        for (const rp of [0, s - 1]) {
          const stream = g.recvStream(i, pos, rp);
          assert.ok(stream >= 1000 && stream < 1000 + g.recvStreams);
          assert.equal(g.recipientOfRecv(stream), g.member(i, rp));
          assert.deepEqual(g.senderOfRecv(stream), { group: i, sender: u });
          seen.add(stream);
        }
      }
      if (s < 300) assert.equal(g.positionOf(i, g.member(i, s - 1) + 1 === 300 ? 0 : g.member(i, s - 1) + 1), -1, 'the user after the last member is not one');
    }
    assert.ok(seen.size > g.count, 'streams are distinct');
  });
  test('senders go round robin over created groups and their online members', () => {
    const g = table(20, { groupSize: 5, groupsPerUser: 1 });
    assert.equal(g.count, 4);
    assert.equal(g.nextSend(() => true), null, 'no group created yet');
    g.setChatId(1, 'g.11');
    g.setChatId(3, 'g.13');
    const online = (u: number) => u % 2 === 0;
    const picks = Array.from({ length: 6 }, () => g.nextSend(online)!);
    assert.deepEqual(picks.map((p) => p.group), [1, 3, 1, 3, 1, 3]);
    for (const p of picks) assert.ok(online(g.member(p.group, p.pos)));
    assert.equal(g.byChat.get('g.13'), 3);
    assert.equal(g.nextSend(() => false), null);
  });
});

describe('integrity tracker', () => {
  test('classifies in-order, out-of-order, duplicate and unknown arrivals and counts what is missing', () => {
    const t = new StreamTracker(2);
    for (let i = 0; i < 5; i++) t.assign(0);
    assert.equal(t.deliver(0, 1), Arrival.InOrder);
    assert.equal(t.deliver(0, 3), Arrival.InOrder);
    assert.equal(t.deliver(0, 2), Arrival.OutOfOrder);
    assert.equal(t.deliver(0, 2), Arrival.Duplicate);
    assert.equal(t.deliver(0, 1), Arrival.Duplicate);
    assert.equal(t.deliver(0, 6), Arrival.Unknown);
    t.skip(0, 4); // rejected by the target: not missing
    assert.equal(t.missing(0), 1); // number 5
    assert.equal(t.deliver(0, 5), Arrival.InOrder);
    assert.equal(t.missing(0), 0);
    assert.equal(t.prefix[0], 5);
  });
  test('a gap that never closes does not grow memory without bound', () => {
    const t = new StreamTracker(1);
    const n = ABOVE_MAX + 10;
    for (let i = 0; i < n + 1; i++) t.assign(0);
    for (let i = 2; i <= n + 1; i++) assert.notEqual(t.deliver(0, i), Arrival.Duplicate);
    assert.equal(t.gaveUp, 1);
    assert.equal(t.missing(0), 1); // still counted missing at the end
  });
});

describe('the hand-encoded Send frame', () => {
  test('is byte-identical to protobufjs for small and large values', () => {
    for (const [ref, to, cmid, len] of [[1, 1_000_000_001, 'a.1', 0], [4_000_000_000, 2 ** 53 - 1, '3.zz', 300], [0, 1_000_000_000_000, 'x', 20_000]] as const) {
      const body = Buffer.alloc(len, 7);
      const ours = encodeSendFrame(ref, to, cmid, body);
      // ref 0 means "no reply wanted" and is left out, as proto3 does for a default value.
      const theirs = Buffer.from(encodeClientFrame(ref > 0 ? { ref, send: { to_user: to, client_msg_id: cmid, body } } : { send: { to_user: to, client_msg_id: cmid, body } }));
      assert.deepEqual(ours, theirs, `ref ${ref} to ${to} len ${len}`);
      const back = decodeClientFrame(ours);
      assert.equal(back.body, 'send');
    }
  });

  test('the group send (chat id instead of a user) is byte-identical to protobufjs too', () => {
    for (const [ref, chat, cmid, len] of [[1, 'g.1', 'a.1', 0], [4_000_000_000, 'g.9007199254740991', '3.zz', 300], [0, 'g.42', 'x', 20_000]] as const) {
      const body = Buffer.alloc(len, 7);
      const ours = encodeGroupSendFrame(ref, chat, cmid, body);
      const send = { chat_id: chat, client_msg_id: cmid, body };
      assert.deepEqual(ours, Buffer.from(encodeClientFrame(ref > 0 ? { ref, send } : { send })), `ref ${ref} chat ${chat} len ${len}`);
      const back = decodeClientFrame(ours);
      assert.ok(back.body === 'send' && back.send.chat_id === chat);
    }
  });
});

describe('HDR histograms', () => {
  test('encode -> decode -> add is exact', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 5000; i++) (i % 2 ? a : b).recordMs(Math.random() * 200);
    const all = new LatencyHistogram();
    all.add(LatencyHistogram.decode(a.encode()));
    all.add(LatencyHistogram.decode(b.encode()));
    const direct = new LatencyHistogram();
    direct.add(a);
    direct.add(b);
    for (const p of [50, 90, 99, 99.9, 100]) assert.equal(all.percentileMs(p), direct.percentileMs(p));
  });
});
