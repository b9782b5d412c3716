// pair-load's ramp (stopWhenP99AboveMs): the stage that breaks the ramp is its last, so its
// stragglers get the last stage's grace (graceMs), and "lost" counts only what did not arrive
// by then. Before, such a stage had the 300 ms between-stage grace: on a target that was merely
// slow (late by more than 300 ms), bench/peers.ts reported "lost" for messages that were late.
// An in-memory driver delays every delivery by a fixed time: no sockets, no target.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Driver, Endpoint } from '../loadgen/drivers/driver';
import { runPairLoad } from '../loadgen/engine/pair-load';

/** Every payload reaches its recipient `delayMs` after it was sent. */
function delayedDriver(delayMs: number): Driver {
  const endpoints: Endpoint[] = [];
  return {
    name: 'delayed',
    async connect(index: number): Promise<Endpoint> {
      const e: Endpoint = {
        send: (to, payload) => {
          const copy = Uint8Array.from(payload);
          setTimeout(() => endpoints[to]!.onReceive(copy), delayMs);
        },
        onReceive: () => {},
        onClose: () => {},
        errors: 0,
        close: () => {},
      };
      endpoints[index] = e;
      return e;
    },
  };
}

describe('pair-load ramp grace', () => {
  it('a stage that breaks the ramp waits graceMs for its stragglers: late is not lost', async () => {
    const r = await runPairLoad(delayedDriver(800), {
      users: 4, stages: [{ rate: 200, durationS: 1 }, { rate: 400, durationS: 1 }], stopWhenP99AboveMs: 100, graceMs: 2000,
    });
    assert.equal(r.stages.length, 1, 'the first stage breaks the ramp (p99 ~800 ms)');
    const s = r.stages[0]!;
    assert.equal(s.scheduled, 200);
    assert.equal(s.lost, 0, `every late message arrived within graceMs (delivered ${s.delivered})`);
    assert.ok(s.latency.p99_ms >= 700, `p99 ${s.latency.p99_ms} ms counts the late ones`);
  });

  it('a stage that holds keeps the short grace and the ramp goes on', async () => {
    const r = await runPairLoad(delayedDriver(5), {
      users: 4, stages: [{ rate: 200, durationS: 0.5 }, { rate: 400, durationS: 0.5 }], stopWhenP99AboveMs: 100, graceMs: 500,
    });
    assert.equal(r.stages.length, 2);
    for (const s of r.stages) assert.equal(s.lost, 0);
  });
});
