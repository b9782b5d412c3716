// Honest latency under a stalled target (no coordinated omission): an
// open-model (constant-arrival-rate) run through the bare forwarder, which
// is frozen with SIGSTOP for one second in the middle of the run. Messages
// keep being sent on schedule during the stall and their latency counts from
// their scheduled time, so the stall shows in the percentiles as hundreds of
// slow samples (not the handful a closed loop would record). With too few
// VUs the schedule cannot be kept: k6's dropped_iterations counts the
// iterations that found no free VU.
import { countAtLeast } from './helpers/latency';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../loadgen/engine/run';
import { DEFAULT_TRAFFIC, type Scenario } from '../loadgen/model/scenario';
import { BARE_FORWARDER, startRelay, type RelayProcess } from './fixtures/loadgen/processes';
import { LatencyHistogram } from '../loadgen/metrics/latency';
import type { RunSummary } from '../loadgen/engine/summary';

const RATE = 1000;
const DURATION_S = 4;
const STALL_AT_MS = 1500;
const STALL_MS = 1000;
/** Time allowed for the run's setup before the common start. */
const START_IN_MS = 2500;

function stallScenario(preAllocatedVUs: number, maxVUs: number): Scenario {
  return {
    name: 'stall', description: 'constant arrival rate through a relay that stalls for 1 s',
    production: { users: 2e9, messagesPerSecond: 1.16e6, notes: 'test' }, scale: { factor: 1e-6, basis: 'test' },
    traffic: { ...DEFAULT_TRAFFIC, users: 100, contactsPerUser: 1, messageBytes: 64 },
    options: {
      scenarios: {
        chat: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: `${DURATION_S}s`, preAllocatedVUs, maxVUs, gracefulStop: '3s' },
      },
      deliveryGrace: '3s',
      iterationTimeout: '5s',
    },
  };
}

async function runWithStall(relay: RelayProcess, scenario: Scenario, dir: string): Promise<RunSummary> {
  const startAt = Date.now() + START_IN_MS;
  const stop = setTimeout(() => relay.proc.kill('SIGSTOP'), startAt + STALL_AT_MS - Date.now());
  const cont = setTimeout(() => relay.proc.kill('SIGCONT'), startAt + STALL_AT_MS + STALL_MS - Date.now());
  try {
    return await runScenario({
      scenario, scenarioFile: 'test', targetUrls: [relay.url], driver: 'bare', shard: { index: 0, count: 1 }, workers: 1,
      outDir: dir, runId: 'stall', transport: 'lean', localAddresses: [], startAtEpochMs: startAt, command: 'test', outputs: [],
      log: () => {},
    });
  } finally {
    clearTimeout(stop);
    clearTimeout(cont);
    relay.proc.kill('SIGCONT');
  }
}

describe('coordinated omission: a 1 s stall of the target shows in the latency', () => {
  let relay: RelayProcess;
  let dir: string;
  before(async () => {
    relay = await startRelay(BARE_FORWARDER);
    dir = mkdtempSync(join(tmpdir(), 'lg-co-'));
  });
  after(async () => {
    await relay.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('with enough VUs every scheduled message is sent during the stall and waits it out', async () => {
    const s = await runWithStall(relay, stallScenario(100, 3000), join(dir, 'enough'));
    const lat = s.metrics.delivery_latency!.values;
    const sent = s.metrics.messages_sent!.values.count!;
    assert.equal(s.metrics.dropped_iterations?.values.count ?? 0, 0, 'no dropped iterations');
    assert.ok(sent >= RATE * DURATION_S * 0.98, `sent on schedule: ${sent}`);
    assert.equal(s.metrics.messages_delivered!.values.count, sent, 'everything arrives after the stall');
    // ~1000 messages were scheduled during the stall: their latencies spread over 0..1000 ms.
    assert.ok(lat.max! >= STALL_MS * 0.85 && lat.max! < STALL_MS * 2.5, `max shows the stall: ${lat.max}`);
    assert.ok(lat['p(99)']! >= STALL_MS * 0.75, `p(99) shows the stall: ${lat['p(99)']}`);
    assert.ok(lat['p(90)']! >= STALL_MS * 0.3, `p(90) shows the stall (a tenth of all samples are slow): ${lat['p(90)']}`);
    assert.ok(lat.med! < STALL_MS * 0.3, `the median is not the stall: ${lat.med}`);
    // Count the slow samples: a closed loop would record about one per VU in flight, not a stall's worth.
    const slowCount = countAtLeast(LatencyHistogram.decode(s.metrics.delivery_latency!.histogram!), 500);
    assert.ok(slowCount >= RATE * (STALL_MS / 1000) * 0.3, `about half a stall's worth of samples >= 500 ms: ${slowCount}`);
    // The iteration (send -> delivery) held its VU through the stall.
    assert.ok(s.metrics.vus_max!.values.max! >= RATE * (STALL_MS / 1000) * 0.7, `VUs grew to cover the stall: ${s.metrics.vus_max!.values.max}`);
  });

  test('with too few VUs the iterations due during the stall are dropped and counted', async () => {
    const maxVUs = 50;
    const s = await runWithStall(relay, stallScenario(20, maxVUs), join(dir, 'few'));
    const dropped = s.metrics.dropped_iterations?.values.count ?? 0;
    const expected = RATE * (STALL_MS / 1000) - maxVUs;
    assert.ok(dropped >= expected * 0.7 && dropped <= expected * 1.5, `dropped ~${expected}: ${dropped}`);
    assert.equal(s.metrics.vus_max!.values.max, maxVUs, 'VUs grew up to maxVUs and no further');
    assert.ok(s.metrics.delivery_latency!.values.max! >= STALL_MS * 0.85, 'the in-flight messages still show the stall');
    assert.ok(s.loadgen.warnings.some((w) => /dropped iterations/.test(w)), 'the summary warns about dropped iterations');
    assert.equal(s.metrics.messages_sent!.values.count! + dropped, RATE * DURATION_S, 'sent + dropped = scheduled');
    const sends = s.reports.sends!;
    assert.equal(sends.dropped, dropped, 'the dropped iterations are dropped sends');
    assert.equal(sends.scheduled, RATE * DURATION_S);
    assert.ok(sends.adds_up, `scheduled = ok + failed + dropped + queued at the end: ${JSON.stringify(sends)}`);
    assert.ok(s.metrics.send_success!.values.fails! >= dropped, 'send_success counts the drops against it');
  });
});
