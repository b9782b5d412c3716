// Retention (docs/design/022-media.md): one pass over the blob store, a page
// of media_collect_page_max blobs at a time. For each blob, its expired
// references are deleted (refs.ts: refExpiresAtMs); a blob left with no
// reference is deleted once older than media_unreferenced_grace_seconds (an
// upload is stored before its reference is written and its message sent, so a
// young blob without a reference is normal). Idempotent: two gateways running
// it at once only repeat deletes.
// Cost per blob: one reference listing, plus one delete per expired reference or collected blob.
import type { MediaLimits } from '../common/config-media';
import type { BlobStore } from './blob-store';
import { refExpiresAtMs } from './refs';

export interface CollectReport {
  blobsSeen: number;
  refsExpired: number;
  blobsCollected: number;
}

/** Passes stop after this many pages: a bound on one run (the next run goes on), ~10^7 blobs at the default page. */
const COLLECT_PAGES_MAX = 10_000;

export async function collectOnce(store: BlobStore, limits: MediaLimits, nowMs: number): Promise<CollectReport> {
  const report: CollectReport = { blobsSeen: 0, refsExpired: 0, blobsCollected: 0 };
  let after = '';
  for (let page = 0; page < COLLECT_PAGES_MAX; page++) {
    const blobs = await store.list(after, limits.media_collect_page_max);
    if (blobs.length === 0) break;
    for (const blob of blobs) {
      report.blobsSeen++;
      let live = 0;
      for (const ref of await store.refs.ofBlob(blob.hash)) {
        if (refExpiresAtMs(ref, limits.media_retention_seconds, limits.media_undelivered_ttl_seconds) <= nowMs) {
          await store.refs.delete(ref.hash, ref.chat_id);
          report.refsExpired++;
        } else {
          live++;
        }
      }
      if (live === 0 && blob.storedAtMs + limits.media_unreferenced_grace_seconds * 1000 <= nowMs) {
        if (await store.delete(blob.hash)) report.blobsCollected++;
      }
    }
    after = blobs[blobs.length - 1]!.hash;
  }
  return report;
}
