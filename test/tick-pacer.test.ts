// The chat engine's tick linger (server/chat/tick-pacer.ts): ticks wait to
// gather events only while events arrive fast, and then commit more per tick.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TickPacer } from '../server/chat/tick-pacer';
import { loadLimits } from '../server/common/config';
import { directChatId } from '../server/common/chat-id';
import { EngineHarness } from './helpers/engine-harness';

describe('tick pacer', () => {
  test('no linger until a full window has shown a rate at or above the threshold', async () => {
    const p = new TickPacer(2, 1000);
    for (let i = 0; i < 500; i++) p.arrived();
    assert.equal(p.delayMs(), 0, 'no full window yet');
    await sleep(110);
    assert.equal(p.delayMs(), 2, `500 events in ~110 ms is ${p.rate.toFixed(0)}/s >= 1000/s`);
  });

  test('a slow or idle stream runs its ticks at once', async () => {
    const p = new TickPacer(2, 1000);
    for (let i = 0; i < 50; i++) p.arrived();
    await sleep(110);
    assert.equal(p.delayMs(), 0, `50 events in ~110 ms is ${p.rate.toFixed(0)}/s`);
    const off = new TickPacer(0, 1);
    for (let i = 0; i < 10_000; i++) off.arrived();
    await sleep(110);
    assert.equal(off.delayMs(), 0, 'tick_linger_ms 0 is off');
  });

  test('WA_TICK_LINGER_MS takes 0 (off); other limits stay positive', () => {
    assert.equal(loadLimits({ WA_TICK_LINGER_MS: '0' }).tick_linger_ms, 0);
    assert.throws(() => loadLimits({ WA_TICK_LINGER_MS: '-1' }), /non-negative integer/);
    assert.throws(() => loadLimits({ WA_WATERMARK_FLUSH_MS: '0' }), /positive integer/);
  });

  test('the engine under a fast stream: fewer, bigger ticks with the linger, every message delivered in order', async () => {
    const run = async (lingerMs: number) => {
      const h = await new EngineHarness({ tick_linger_ms: lingerMs, tick_linger_min_events_per_s: 1 }).start();
      try {
        const a = await h.newUser();
        const b = await h.newUser();
        await h.connect(a);
        await h.connect(b);
        // Prime the pacer's window: one full window with events in it.
        h.send(a, b, 'warm-0');
        await sleep(110);
        await h.settle();
        const ticksBefore = h.engine.stats.ticks;
        // 40 sends over 40 turns (setImmediate apart): without the linger each turn can take its own tick.
        for (let i = 1; i <= 40; i++) {
          h.send(a, b, `m-${i}`);
          await new Promise((r) => setImmediate(r));
        }
        await h.settle();
        const texts = h.deliveries().filter((d) => d.users.includes(b)).map((d) => d.text);
        assert.deepEqual(texts, ['warm-0', ...Array.from({ length: 40 }, (_, i) => `m-${i + 1}`)], 'every message once, in order');
        assert.ok(h.log.of('message').every((e) => e.msg.chat_id === directChatId(a, b)));
        return h.engine.stats.ticks - ticksBefore;
      } finally {
        await h.close();
      }
    };
    const eager = await run(0);
    const lingering = await run(5);
    assert.ok(lingering * 3 <= eager, `ticks for 40 sends: ${lingering} with a 5 ms linger, ${eager} without`);
  });
});
