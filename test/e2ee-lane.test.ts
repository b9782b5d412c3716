// The generator's per-thread crypto FIFO (loadgen/drivers/e2ee-lane.ts): one
// operation at a time in the order asked, even when each awaits several
// times (as libsignal's do); a failure stays with its operation; idle()
// reports when all is done (the worker's teardown waits for it).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { CryptoLane, LaneClosedError } from '../loadgen/drivers/e2ee-lane';

/** An operation that awaits `steps` times and spins `spinMs` in each step (like a libsignal call awaiting its stores). */
async function op(log: string[], name: string, steps: number, spinMs: number): Promise<string> {
  for (let i = 0; i < steps; i++) {
    log.push(`${name}.${i}`);
    const end = performance.now() + spinMs;
    while (performance.now() < end);
    await Promise.resolve();
  }
  return name;
}

describe('CryptoLane', () => {
  test('operations run one at a time, in the order asked, whatever their awaits', async () => {
    const lane = new CryptoLane();
    const log: string[] = [];
    const results = await Promise.all(['a', 'b', 'c'].map((n) => lane.run(() => op(log, n, 3, 0))));
    assert.deepEqual(results, ['a', 'b', 'c']);
    assert.deepEqual(log, ['a.0', 'a.1', 'a.2', 'b.0', 'b.1', 'b.2', 'c.0', 'c.1', 'c.2'], 'no step of one between the steps of another');
  });

  test('a failed operation fails alone; the next one runs', async () => {
    const lane = new CryptoLane();
    const bad = lane.run(() => Promise.reject(new Error('no session')));
    const good = lane.run(() => Promise.resolve('ok'));
    await assert.rejects(bad, /no session/);
    assert.equal(await good, 'ok');
    assert.equal(lane.pending, 0);
  });

  test('close(): the operation running finishes, the ones queued fail without running, and idle() comes at once', async () => {
    const lane = new CryptoLane();
    const log: string[] = [];
    const all = Array.from({ length: 50 }, (_, i) => lane.run(() => op(log, `o${i}`, 2, 2)));
    await Promise.resolve();
    lane.close();
    const t0 = performance.now();
    assert.equal(await lane.idle(5_000), true);
    assert.ok(performance.now() - t0 < 50, 'not the ~200 ms of the whole backlog');
    const results = await Promise.allSettled(all);
    assert.equal(results[0]!.status, 'fulfilled', 'the running one finished');
    assert.ok(results.slice(1).every((r) => r.status === 'rejected' && r.reason instanceof LaneClosedError));
    assert.deepEqual(log, ['o0.0', 'o0.1'], 'nothing queued ran');
  });

  test('idle() resolves once every operation asked has finished, or says it did not in time', async () => {
    const lane = new CryptoLane();
    const log: string[] = [];
    const all = Array.from({ length: 20 }, (_, i) => lane.run(() => op(log, `o${i}`, 2, 1)));
    assert.equal(lane.pending, 20);
    assert.equal(await lane.idle(0), false, 'not idle at once with 20 operations of ~2 ms queued');
    assert.equal(await lane.idle(5_000), true);
    assert.equal(lane.pending, 0);
    assert.equal(log.length, 40, 'every step of every operation ran before idle() said so');
    await Promise.all(all);
    assert.equal(await new CryptoLane().idle(0), true, 'an empty lane is idle at once');
  });
});
