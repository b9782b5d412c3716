// Retention (docs/design/022-media.md): one pass over the blob store, a page
// of media_collect_page_max blobs at a time. For each blob, its expired
// references are deleted (refs.ts: refExpiresAtMs). A blob left with no
// reference, once older than media_unreferenced_grace_seconds (an upload is
// stored before its reference is written and its message sent, so a young blob
// without a reference is normal), is not deleted by the run that finds it: it
// is marked condemned (condemn.ts). A later run, media_condemned_grace_seconds
// after the mark, re-reads its references and deletes it only if there are
// still none and the delete can be issued within media_sweep_step_ms_max of
// that read; a reference that came back clears the mark. Idempotent: two
// gateways running it at once only repeat marks and deletes.
// Cost per blob: one listing (plus a read per reference), plus a delete per
// expired reference; a condemned blob one more listing, its delete and marks.
import { performance } from 'node:perf_hooks';
import type { MediaLimits } from '../common/config-media';
import type { BlobStore } from './blob-store';
import { clearCondemned, condemnedOf } from './condemn';
import { refExpiresAtMs, type MediaRef } from './refs';

export interface CollectReport {
  blobsSeen: number;
  refsExpired: number;
  /** Unreferenced blobs marked this run (deleted on a run at least the condemned grace later). */
  blobsCondemned: number;
  blobsCollected: number;
  /** Condemned blobs kept because a reference came back. */
  blobsReprieved: number;
  /** Sweeps not done because the read-to-delete step took over media_sweep_step_ms_max (a later run retries). */
  sweepsSkipped: number;
}

/** Passes stop after this many pages: a bound on one run (the next run goes on), ~10^7 blobs at the default page. */
const COLLECT_PAGES_MAX = 10_000;

export async function collectOnce(store: BlobStore, limits: MediaLimits, nowMs: number): Promise<CollectReport> {
  const report: CollectReport = { blobsSeen: 0, refsExpired: 0, blobsCondemned: 0, blobsCollected: 0, blobsReprieved: 0, sweepsSkipped: 0 };
  const expired = (ref: MediaRef) => refExpiresAtMs(ref, limits.media_retention_seconds, limits.media_undelivered_ttl_seconds) <= nowMs;
  let after = '';
  for (let page = 0; page < COLLECT_PAGES_MAX; page++) {
    const blobs = await store.list(after, limits.media_collect_page_max);
    if (blobs.length === 0) break;
    for (const blob of blobs) {
      report.blobsSeen++;
      const { refs, marks } = await store.refs.scan(blob.hash);
      let live = 0;
      for (const ref of refs) {
        if (expired(ref)) {
          await store.refs.delete(ref.hash, ref.chat_id);
          report.refsExpired++;
        } else {
          live++;
        }
      }
      // Clearances older than a sweep step tell no forward anything any more.
      for (const m of marks) {
        if (m.kind === 'cleared' && m.atMs + limits.media_sweep_step_ms_max < nowMs) await store.refs.deleteMark(blob.hash, m);
      }
      const condemned = condemnedOf(marks);
      if (live > 0) {
        if (condemned.length > 0) {
          await clearCondemned(store.refs, blob.hash, marks, nowMs);
          report.blobsReprieved++;
        }
        continue;
      }
      if (blob.storedAtMs + limits.media_unreferenced_grace_seconds * 1000 > nowMs) continue;
      if (condemned.length === 0) {
        await store.refs.putMark(blob.hash, { kind: 'condemned', atMs: nowMs });
        report.blobsCondemned++;
        continue;
      }
      if (Math.min(...condemned.map((m) => m.atMs)) + limits.media_condemned_grace_seconds * 1000 > nowMs) continue;
      await sweep(store, blob.hash, limits, expired, nowMs, report);
    }
    after = blobs[blobs.length - 1]!.hash;
  }
  return report;
}

/** A condemned blob past its grace: deleted only if a fresh read still finds it condemned and unreferenced. */
async function sweep(store: BlobStore, hash: string, limits: MediaLimits, expired: (r: MediaRef) => boolean, nowMs: number, report: CollectReport): Promise<void> {
  const readAt = performance.now();
  const again = await store.refs.scan(hash);
  const condemned = condemnedOf(again.marks);
  if (again.refs.some((r) => !expired(r))) {
    await clearCondemned(store.refs, hash, again.marks, nowMs);
    report.blobsReprieved++;
    return;
  }
  // Cleared since the first read (a forward is settling its reference): not this run.
  if (condemned.length === 0 || Math.min(...condemned.map((m) => m.atMs)) + limits.media_condemned_grace_seconds * 1000 > nowMs) return;
  // A forward that clears the mark now waits media_sweep_step_ms_max, then looks: the delete must be issued before that.
  if (performance.now() - readAt > limits.media_sweep_step_ms_max / 2) {
    report.sweepsSkipped++;
    return;
  }
  if (await store.delete(hash)) report.blobsCollected++;
  for (const m of condemned) await store.refs.deleteMark(hash, m);
}
