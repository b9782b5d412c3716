// WA_METRICS=0 (the "off" side of the metrics-cost comparison) turns the
// hot-path observations and the default collectors off, while /metrics still
// answers with the same wa_* names and live counters.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseExposition } from '../server/metrics/exposition';
import { connectUser, text, waitFor, withSystem } from './helpers/system';

async function scrape(url: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const f of parseExposition(await (await fetch(url)).text()).values()) {
    for (const s of f.samples) out.set(`${s.name}${JSON.stringify(s.labels)}`, s.value);
  }
  return out;
}

describe('WA_METRICS=0', { timeout: 30_000 }, () => {
  it('keeps counters and names, drops observations and default collectors', async () => {
    await withSystem({ env: { WA_METRICS: '0' } }, async (sys) => {
      const a = await connectUser(sys);
      const b = await connectUser(sys);
      for (let i = 0; i < 5; i++) await a.send(b.userId, text(`m${i}`));
      await waitFor(() => b.frames.filter((f) => f.body === 'message').length === 5, 5000, 'deliveries');
      const urls = sys.metricsUrls();
      const gw = await scrape(urls.gateways[0]!);
      const chat = await scrape(urls.chat);
      assert.equal(gw.get('wa_gateway_frames_received_total{"type":"send"}'), 5);
      assert.equal(gw.get('wa_gateway_delivery_latency_seconds_count{}'), 0);
      assert.equal(chat.get('wa_chat_messages_stored_total{"kind":"direct"}'), 5);
      assert.equal(chat.get('wa_chat_tick_duration_seconds_count{}'), 0);
      assert.equal(chat.get('wa_store_commit_duration_seconds_count{}'), 0);
      assert.ok(![...gw.keys(), ...chat.keys()].some((k) => k.startsWith('nodejs_') || k.startsWith('process_')), 'no default collectors');
      a.close();
      b.close();
    });
  });
});
