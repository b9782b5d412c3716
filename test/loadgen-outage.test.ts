// A run with a gateway outage accounts for every scheduled iteration (issue
// 13). First: the real system (chat service + one gateway on a fixed port, embedded
// store), an open-model 1:1 load, and in the middle the gateway hangs
// (SIGSTOP: sends written to it get no answer), is killed (-9) and comes back
// on the same port 2 s later. Every user's connection drops; the simulated
// clients behave like the app: sends made while down wait in their outbox,
// unanswered sends go again with the same client_msg_id, users reconnect with
// backoff. The counts must add up exactly, the outage must show in the latency
// (counted from the scheduled time), and no acknowledged message may be lost
// or duplicated. Second: the chat service killed (-9) and restarted under the
// same load; the connections stay up and the gateway answers sends with
// UNAVAILABLE meanwhile, which the clients retry with backoff.
import { countAtLeast } from './helpers/latency';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { freePort } from '../lib/net';
import { runScenario } from '../loadgen/engine/run';
import { freshUserBase } from '../loadgen/engine/local-target';
import { LatencyHistogram } from '../loadgen/metrics/latency';
import { DEFAULT_TRAFFIC, type Scenario } from '../loadgen/model/scenario';
import { renderSummaryText } from '../loadgen/outputs/summary-text';
import type { RunSummary } from '../loadgen/engine/summary';

const RATE = 200;
const DURATION_S = 6;
const HANG_AT_MS = 1200;
const KILL_AT_MS = 1500;
/** The gateway is down (hung, then dead) from HANG_AT_MS until its restart starts; the restart adds ~0.5 s. */
const RESTART_AT_MS = 3500;
const DOWN_MS = RESTART_AT_MS - HANG_AT_MS;
const START_IN_MS = 2500;

const scenario: Scenario = {
  name: 'gateway-outage', description: '1:1 load through a gateway that hangs, is killed and comes back',
  production: { users: 2e9, messagesPerSecond: 1.16e6, notes: 'test' }, scale: { factor: 1e-6, basis: 'test' },
  traffic: { ...DEFAULT_TRAFFIC, users: 40, contactsPerUser: 3, messageBytes: 64 },
  options: {
    scenarios: {
      chat: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: `${DURATION_S}s`, preAllocatedVUs: 50, maxVUs: 2000, gracefulStop: '5s' },
    },
    deliveryGrace: '3s',
    iterationTimeout: '10s',
  },
};

/** Run the scenario against `sys`, with `faults` at their times after the measured window starts. */
async function runWithFaults(sys: RunningSystem, dir: string, faults: [number, () => Promise<unknown> | void][], notes: string[]): Promise<RunSummary> {
  const startAt = Date.now() + START_IN_MS;
  const timers = faults.map(([ms, f]) => setTimeout(() => {
    Promise.resolve().then(f).catch((err) => notes.push(`failed: ${(err as Error).message}`));
  }, startAt + ms - Date.now()));
  try {
    return await runScenario({
      scenario, scenarioFile: 'test', targetUrls: [sys.gatewayUrl], secret: sys.secret, chatTarget: sys.chatTarget, driver: 'system',
      shard: { index: 0, count: 1 }, workers: 1, outDir: dir, runId: 'outage', transport: 'lean', localAddresses: [],
      startAtEpochMs: startAt, userBase: freshUserBase(), command: 'test', outputs: [], log: () => {},
    });
  } finally {
    for (const t of timers) clearTimeout(t);
  }
}

describe('a gateway outage under load: every scheduled send is accounted for', () => {
  let sys: RunningSystem;
  let dir: string;
  let s: RunSummary;
  const faults: string[] = [];

  before(async () => {
    sys = await startSystem({ gatewayPort: await freePort() });
    dir = mkdtempSync(join(tmpdir(), 'lg-outage-'));
    const port = sys.gatewayPorts[0];
    s = await runWithFaults(sys, dir, [
      [HANG_AT_MS, () => void sys.gateways[0]!.child.kill('SIGSTOP')],
      [KILL_AT_MS, () => sys.killGateway(0)],
      [RESTART_AT_MS, async () => {
        await sys.restartGateway(0);
        faults.push(`restarted on port ${sys.gatewayPorts[0]} (was ${port})`);
      }],
    ], faults);
  });
  after(async () => {
    await sys?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const count = (name: string) => s.metrics[name]?.values.count ?? 0;

  test('the gateway came back on its port and every user reconnected by itself', () => {
    assert.equal(faults.filter((f) => f.startsWith('failed')).length, 0, faults.join('; '));
    assert.equal(count('disconnects_unexpected'), 40, 'every connection dropped');
    assert.equal(count('reconnects_automatic'), 40, 'every user came back');
    assert.equal(s.reports.sends?.reconnects, 40);
  });

  test('scheduled = ok + failed + dropped + queued at the end, exactly, and nothing vanished', () => {
    const r = s.reports.sends!;
    assert.ok(r, 'the summary has the send accounting');
    assert.equal(r.scheduled, RATE * DURATION_S, 'every scheduled iteration is a counted send');
    assert.equal(r.ok + r.failed + r.dropped + r.queued_at_end, r.scheduled);
    assert.equal(r.adds_up, true);
    assert.equal(r.failed, 0, `no send failed: ${JSON.stringify(r.failed_by_reason)}`);
    assert.equal(r.dropped, 0, 'maxVUs covers the outage');
    assert.equal(r.ok, r.scheduled, 'every send was acknowledged in the end');
    const rate = s.metrics.send_success!.values;
    assert.equal(rate.passes! + rate.fails!, r.scheduled, 'send_success has one sample per scheduled send');
    assert.equal(s.exit_code, 0);
    assert.match(renderSummaryText(s), /✓ scheduled 1200 = ok 1200 \+ failed 0 \+ dropped 0 \+ queued at the end 0/);
  });

  test('sends waited in outboxes during the outage, and unanswered ones went again', () => {
    const r = s.reports.sends!;
    // ~DOWN_MS of the schedule found its sender disconnected (or its gateway hung).
    assert.ok(r.outboxed >= RATE * (DOWN_MS / 1000) * 0.5, `sends that waited in an outbox: ${r.outboxed}`);
    // Written to the hung gateway, never answered, written again after the reconnect.
    assert.ok(r.retried >= RATE * ((KILL_AT_MS - HANG_AT_MS) / 1000) * 0.5, `sends retried with the same client_msg_id: ${r.retried}`);
    assert.equal(count('messages_unacknowledged'), 0, 'none given up');
  });

  test('no acknowledged message is lost or duplicated, and per chat order is kept', () => {
    assert.equal(count('delivery_lost'), 0, JSON.stringify(s.reports.lost_examples ?? []));
    assert.equal(count('delivery_duplicated'), 0);
    assert.equal(count('delivery_out_of_order'), 0);
    assert.equal(count('messages_delivered'), s.reports.sends!.ok, 'each acknowledged message reached its recipient once');
  });

  test('the outage shows in the latency, counted from the scheduled time', () => {
    const ack = s.metrics.sent_ack_latency!.values;
    assert.ok(ack['p(99)']! >= DOWN_MS, `sent ack p(99) ${ack['p(99)']} ms >= the outage ${DOWN_MS} ms`);
    const slow = countAtLeast(LatencyHistogram.decode(s.metrics.sent_ack_latency!.histogram!), 1000);
    // Sends scheduled in the first DOWN_MS - 1 s of the outage waited at least 1 s: a schedule's worth, not a handful.
    assert.ok(slow >= RATE * ((DOWN_MS - 1000) / 1000) * 0.8, `sent acks >= 1 s: ${slow}`);
    const delivery = s.metrics.delivery_latency!.values;
    assert.ok(delivery['p(99)']! >= DOWN_MS, `delivery p(99) ${delivery['p(99)']} ms >= the outage`);
    assert.ok(ack.med! < DOWN_MS, `the median is not the outage: ${ack.med}`);
  });
});

describe('the chat service killed under load: UNAVAILABLE answers are retried, every send is accounted for', () => {
  const CHAT_KILL_AT_MS = 1500;
  const CHAT_RESTART_AT_MS = 2500;
  let sys: RunningSystem;
  let dir: string;
  let s: RunSummary;
  const notes: string[] = [];

  before(async () => {
    sys = await startSystem({});
    dir = mkdtempSync(join(tmpdir(), 'lg-chat-kill-'));
    s = await runWithFaults(sys, dir, [[CHAT_KILL_AT_MS, () => sys.killChat()], [CHAT_RESTART_AT_MS, () => sys.restartChat()]], notes);
  });
  after(async () => {
    await sys?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the counts add up, nothing failed, and the sends answered UNAVAILABLE went again', () => {
    const count = (name: string) => s.metrics[name]?.values.count ?? 0;
    assert.deepEqual(notes, []);
    const r = s.reports.sends!;
    assert.equal(r.scheduled, RATE * DURATION_S);
    assert.equal(r.adds_up, true);
    assert.equal(r.failed, 0, `no send failed: ${JSON.stringify(r.failed_by_reason)}`);
    assert.equal(r.ok, r.scheduled);
    assert.equal(count('disconnects_unexpected'), 0, 'the gateway kept its connections');
    assert.ok(count('errors') > 0, 'the gateway answered UNAVAILABLE while its chat service was gone');
    // Every send made while the chat service was gone was answered UNAVAILABLE at least once and written again.
    assert.ok(r.retried >= RATE * ((CHAT_RESTART_AT_MS - CHAT_KILL_AT_MS) / 1000) * 0.5, `sends retried: ${r.retried}, errors ${count('errors')}`);
    assert.equal(count('delivery_lost'), 0, JSON.stringify(s.reports.lost_examples ?? []));
    assert.equal(count('delivery_duplicated'), 0);
    assert.equal(count('delivery_out_of_order'), 0);
    assert.equal(count('messages_delivered'), r.ok, 'each acknowledged message reached its recipient once');
    const ack = s.metrics.sent_ack_latency!.values;
    assert.ok(ack['p(99)']! >= (CHAT_RESTART_AT_MS - CHAT_KILL_AT_MS) * 0.8, `sent ack p(99) ${ack['p(99)']} ms shows the outage`);
  });
});
