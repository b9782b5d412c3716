// Mark-then-sweep (docs/design/022-media.md, "Retention"): the blob store has
// no conditional delete (S3), so the collector never deletes a blob on the run
// that finds it unreferenced. It marks it condemned (refs.ts BlobMark, kept
// beside the references); a run at least media_condemned_grace_seconds later
// re-reads the references and deletes the blob only if there are still none.
// Whoever is about to reference a stored blob (a forward, an upload of content
// already there) clears a condemned mark first and then waits out a sweep that
// may have read the mark before it was cleared: media_sweep_step_ms_max, the
// bound the sweep keeps between its read and its delete. After that wait the
// blob is either there for good (no sweep can delete it without a new mark and
// a new grace) or gone, and the caller stores it again.
import { setTimeout as sleep } from 'node:timers/promises';
import type { MediaLimits } from '../common/config-media';
import type { BlobMark, RefStore } from './refs';

export const condemnedOf = (marks: BlobMark[]): BlobMark[] => marks.filter((m) => m.kind === 'condemned');

/** Removes the blob's condemned marks, leaving a `cleared` mark first so other forwards know a sweep may be in flight. */
export async function clearCondemned(refs: RefStore, hash: string, marks: BlobMark[], nowMs: number): Promise<void> {
  const condemned = condemnedOf(marks);
  if (condemned.length === 0) return;
  await refs.putMark(hash, { kind: 'cleared', atMs: nowMs });
  for (const m of condemned) await refs.deleteMark(hash, m);
}

/**
 * Before a reference to a stored blob is written: clears a condemned mark and waits out any sweep that read it
 * (also one that read a mark another forward or the collector cleared a moment ago). Returns the ms waited.
 * The caller then looks at the blob again (stat, or put): a sweep that was in flight has deleted it or never will.
 */
export async function settleBeforeReference(refs: RefStore, hash: string, limits: MediaLimits, nowMs: number): Promise<number> {
  const marks = await refs.marks(hash);
  let clearedMs = Math.max(0, ...marks.filter((m) => m.kind === 'cleared').map((m) => m.atMs));
  if (condemnedOf(marks).length > 0) {
    await clearCondemned(refs, hash, marks, nowMs);
    clearedMs = nowMs;
  }
  if (clearedMs === 0) return 0;
  // Capped: a clearance stamped by a clock ahead of ours must not hold the request longer than one sweep step.
  const waitMs = Math.min(limits.media_sweep_step_ms_max, clearedMs + limits.media_sweep_step_ms_max - nowMs);
  if (waitMs <= 0) return 0;
  await sleep(waitMs);
  return waitMs;
}
