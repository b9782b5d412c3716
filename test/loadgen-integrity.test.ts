// Integrity counting is exact: a relay that drops one message in N,
// duplicates one in M and swaps one in R with the next of the same
// sender->recipient pair (test/fixtures/loadgen/faulty-relay.ts) is caught with
// exactly the counts the relay reports, and the run fails its thresholds.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../loadgen/engine/run';
import { DEFAULT_TRAFFIC, type Scenario } from '../loadgen/model/scenario';
import { FAULTY_RELAY, startRelay, type RelayProcess } from './fixtures/loadgen/processes';
import { summaryJsonOutput } from '../loadgen/outputs/summary-json';
import { junitOutput } from '../loadgen/outputs/junit';

const RATE = 2000;
const DURATION_S = 3;

const scenario: Scenario = {
  name: 'integrity', description: '1:1 load through a faulty relay',
  production: { users: 2e9, messagesPerSecond: 1.16e6, notes: 'test' }, scale: { factor: 1e-6, basis: 'test' },
  traffic: { ...DEFAULT_TRAFFIC, users: 40, contactsPerUser: 3, messageBytes: { uniform: [30, 300] } },
  options: {
    scenarios: {
      chat: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: `${DURATION_S}s`, preAllocatedVUs: 200, maxVUs: 3000, gracefulStop: '2s' },
    },
    thresholds: { delivery_lost: ['count==0'], delivery_duplicated: ['count==0'], delivery_out_of_order: ['count==0'] },
    deliveryGrace: '2s',
    iterationTimeout: '1s',
  },
};

describe('integrity: drops, duplicates and reorderings are counted exactly', () => {
  let relay: RelayProcess;
  let dir: string;
  before(async () => {
    relay = await startRelay(FAULTY_RELAY, ['--drop-every', '97', '--dup-every', '89', '--reorder-every', '83']);
    dir = mkdtempSync(join(tmpdir(), 'lg-integrity-'));
  });
  after(async () => {
    await relay.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('lost, duplicated, out of order and delivered match the relay\'s own counters', async () => {
    const s = await runScenario({
      scenario, scenarioFile: 'test', targetUrls: [relay.url], driver: 'bare', shard: { index: 0, count: 1 }, workers: 2,
      outDir: dir, runId: 'integrity', transport: 'lean', localAddresses: [], command: 'test', outputs: [summaryJsonOutput, junitOutput],
      log: () => {},
    });
    const relayed = await relay.stop();
    const count = (name: string) => s.metrics[name]?.values.count ?? 0;
    assert.ok(relayed.dropped! > 0 && relayed.duplicated! > 0 && relayed.reordered! > 0, `the relay broke things: ${JSON.stringify(relayed)}`);
    assert.equal(count('messages_sent'), RATE * DURATION_S);
    assert.equal(count('messages_sent'), relayed.relayed, 'every message reached the relay');
    assert.equal(count('delivery_lost'), relayed.dropped, 'lost = dropped by the relay');
    assert.equal(count('delivery_duplicated'), relayed.duplicated, 'duplicated = duplicated by the relay');
    assert.equal(count('delivery_out_of_order'), relayed.reordered, 'out of order = reordered by the relay');
    assert.equal(count('messages_delivered'), relayed.relayed! - relayed.dropped!, 'delivered = relayed - dropped');
    assert.equal(count('iteration_timeouts'), relayed.dropped, 'each dropped message timed its iteration out');
    assert.equal(s.metrics.delivery_success!.values.fails, relayed.dropped);
    // The run fails its integrity thresholds: exit code 99, and JUnit says which.
    assert.equal(s.thresholds.ok, false);
    assert.equal(s.exit_code, 99);
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    assert.match(junit, /tests="3" failures="3"/);
    assert.match(junit, /name="delivery_lost count==0"[^>]*>\s*<failure message="delivery_lost count==0 failed: was \d+"/);
  });
});
