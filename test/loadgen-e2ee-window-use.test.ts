// What the e2ee warm-up sets up is sized to the window's schedule (loadgen/world/e2ee-window-use.ts):
// per online sender its first k contacts, per group its first k senders. Checked against the shipped
// fanout's plan, and that anything that breaks the fixed round robin warms everything.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fanout from '../scenarios/fanout';
import { planRun } from '../loadgen/model/plan';
import { segmentsOf } from '../loadgen/model/segments';
import { windowUseOf } from '../loadgen/world/e2ee-window-use';

describe('e2ee warm-up sized to the window', () => {
  test("fanout: each online sender's share of the scheduled 1:1 sends, and each group's share of the group sends, + 2", () => {
    const plan = planRun(fanout);
    const segments = segmentsOf(plan, 0, 1, 2);
    const seg = segments[0]!;
    // The schedule, counted here independently: 4 s ramp from 150 to 1500/s, then 20 s at 1500/s.
    const iterations = (150 + 1500) / 2 * 4 + 1500 * 20;
    const mine = Math.ceil((iterations - seg.index) / seg.count);
    const online = Math.round(seg.users * fanout.traffic.onlineShare);
    const groups = 1150;
    const use = windowUseOf(plan, seg, online, groups);
    assert.equal(use.contactsPerSender, Math.ceil((mine * 0.7) / online) + 2);
    assert.equal(use.sendersPerGroup, Math.ceil((mine * 0.3) / groups) + 2);
    assert.ok(use.contactsPerSender < fanout.traffic.contactsPerUser, 'the default window writes to fewer than all 8 contacts');
    // A longer window uses more of them.
    const long = windowUseOf(planRun(fanout, { durationMs: 120_000 }), seg, online, groups);
    assert.ok(long.contactsPerSender >= fanout.traffic.contactsPerUser, `a 120 s window reaches every contact (k=${long.contactsPerSender})`);
    assert.ok(long.sendersPerGroup > use.sendersPerGroup);
  });

  test('reconnecting users or a closed-model executor: everything', () => {
    const reconnecting = planRun({ ...fanout, traffic: { ...fanout.traffic, reconnect: { dropShare: 0.1 } } });
    assert.equal(windowUseOf(reconnecting, segmentsOf(reconnecting, 0, 1, 1)[0]!, 7000, 2000).contactsPerSender, Infinity);
    const closed = planRun({ ...fanout, options: { scenarios: { steady: { executor: 'constant-vus', vus: 10, duration: '5s', exec: 'chat' } } } });
    assert.equal(windowUseOf(closed, segmentsOf(closed, 0, 1, 1)[0]!, 7000, 2000).sendersPerGroup, Infinity);
  });
});
