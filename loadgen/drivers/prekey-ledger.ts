// traffic.e2ee: what the generator can see of the key directory's promise that
// each one-time prekey is handed to exactly one fetcher. A sender's peers are
// in its own worker slice (loadgen/model/segments.ts), so every fetch of a
// given user's bundle happens on the same thread: a (user, device, prekey id)
// handed out twice is seen here. The recipient sees it too (the second
// PreKeySignalMessage names a prekey its store already removed and does not
// decrypt), but only later and as a decrypt failure; this names the cause.
//
// Memory: one string per one-time prekey handed out to this thread (a fetch is
// one per (sender, peer) pair over the run: users x contactsPerUser at most, plus
// refetches after failures), bounded by HANDED_OUT_KEPT_MAX.
import type { KeyBundlesBody } from '../../server/common/protocol';
import type { MetricsRegistry } from '../metrics/registry';

/** Prekeys remembered; past it the oldest are forgotten (a reuse of one of them would go unseen here). */
const HANDED_OUT_KEPT_MAX = 1_000_000;

export class PrekeyLedger {
  private readonly handedOut = new Set<string>();

  constructor(private readonly metrics: MetricsRegistry) {}

  /** Count the bundles of one fetch of `user`'s keys: those without a one-time prekey, and prekeys seen before. */
  fetched(bundles: KeyBundlesBody): void {
    for (const b of bundles.devices) {
      const k = b.one_time_prekey;
      if (!k) {
        this.metrics.counter.e2ee_bundles_without_prekey.add(1);
        continue;
      }
      const key = `${bundles.user}/${b.device_id}/${k.id}`;
      if (this.handedOut.has(key)) this.metrics.counter.e2ee_prekeys_reused.add(1);
      else this.handedOut.add(key);
      if (this.handedOut.size > HANDED_OUT_KEPT_MAX) this.handedOut.delete(this.handedOut.values().next().value!);
    }
  }
}
