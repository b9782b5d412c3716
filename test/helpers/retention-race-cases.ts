// Mark-then-sweep (server/media/condemn.ts, collector.ts) on any blob store
// engine: test/blob-store.test.ts runs these on the embedded files and on
// S3Proxy. The clock is injected (collector and uploads take nowMs); the
// sweep-step wait is real (media_sweep_step_ms_max, shortened here). The race
// cases put a forward (UploadSessions.begin on stored content) inside a
// collector run, right after the collector has read the blob's records.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_MEDIA_LIMITS, type MediaLimits } from '../../server/common/config-media';
import type { BlobStore } from '../../server/media/blob-store';
import { collectOnce } from '../../server/media/collector';
import type { RefStore } from '../../server/media/refs';
import { UploadSessions, type UploadProgress } from '../../server/media/uploads';
import { blob } from './blob-conformance';

const GRACE_MS = 3600_000;
const limits: MediaLimits = {
  ...DEFAULT_MEDIA_LIMITS, media_unreferenced_grace_seconds: 1, media_condemned_grace_seconds: GRACE_MS / 1000, media_sweep_step_ms_max: 400,
};

/** The store, with `onRead(hash)` awaited after the collector's record reads of one blob (scan, or ofBlob before mark-then-sweep). */
function hooked(store: BlobStore, hash: string, onRead: (nth: number) => Promise<void>): BlobStore {
  let n = 0;
  const refs = Object.create(store.refs) as RefStore;
  const after = async <T>(h: string, v: T): Promise<T> => {
    if (h === hash) await onRead(++n);
    return v;
  };
  refs.scan = async (h) => after(h, await store.refs.scan(h));
  refs.ofBlob = async (h) => after(h, await store.refs.ofBlob(h));
  const s = Object.create(store) as BlobStore;
  Object.defineProperty(s, 'refs', { value: refs });
  return s;
}

async function forward(store: BlobStore, b: { bytes: Buffer; hash: string }, chat: string, nowMs: number): Promise<UploadProgress> {
  const uploads = await UploadSessions.open(limits, mkdtempSync(join(tmpdir(), 'wa-race-up-')), store);
  const p = await uploads.begin(7, { chat_id: chat, kind: 'document', size: b.bytes.length, sha256: b.hash }, 2, nowMs);
  // Not stored any more: the client uploads its bytes (a forwarder has the file), as for new content.
  return p.complete ? p : uploads.append(p.upload_id, 7, 0, b.bytes, nowMs);
}

/** What a download needs: the chat's reference and the whole blob. */
async function downloadable(store: BlobStore, b: { bytes: Buffer; hash: string }, chat: string): Promise<void> {
  assert.ok(await store.refs.get(b.hash, chat), 'the forward\'s reference is there');
  assert.deepEqual(await store.get(b.hash, 0, b.bytes.length - 1), b.bytes, 'the blob is there, whole');
}

export function defineRetentionRace(store: () => BlobStore): void {
  test('an unreferenced blob is only marked by the run that finds it; deleted by a run a grace after the mark', async () => {
    const b = blob(500);
    await store().put(b.hash, { bytes: b.bytes });
    const t = Date.now() + 5000;
    await collectOnce(store(), limits, t);
    assert.deepEqual(await store().refs.marks(b.hash), [{ kind: 'condemned', atMs: t }]);
    assert.ok(await store().stat(b.hash), 'marked, not deleted');
    await collectOnce(store(), limits, t + GRACE_MS - 1000);
    assert.ok(await store().stat(b.hash), 'kept until the grace has passed');
    const r = await collectOnce(store(), limits, t + GRACE_MS);
    assert.ok(r.blobsCollected >= 1, JSON.stringify(r));
    assert.equal(await store().stat(b.hash), null);
    assert.deepEqual(await store().refs.marks(b.hash), [], 'the mark goes with the blob');
  });

  test('a condemned mark is cleared by a new reference: a forward clears it, a reference the collector finds reprieves the blob', async () => {
    const [a, c] = [blob(500), blob(500)];
    for (const b of [a!, c!]) await store().put(b.hash, { bytes: b.bytes });
    const t = Date.now() + 5000;
    await collectOnce(store(), limits, t);
    const waited = Date.now();
    assert.equal((await forward(store(), a!, 'd.1.7', t + 1000)).complete, true);
    assert.ok(Date.now() - waited >= limits.media_sweep_step_ms_max - 50, 'the forward waited out a sweep step after clearing');
    assert.deepEqual((await store().refs.marks(a!.hash)).map((m) => m.kind), ['cleared']);
    // A reference written without the forward's check (made before the mark, say): the sweep's read finds it.
    await store().refs.put({ hash: c!.hash, chat_id: 'd.1.8', kind: 'image', size: 500, uploader: 1, created_ms: t, members: 2, downloaded_by: [], delivered_all_ms: 0 });
    const r = await collectOnce(store(), limits, t + GRACE_MS);
    assert.ok(r.blobsReprieved >= 1, JSON.stringify(r));
    for (const [b, chat] of [[a!, 'd.1.7'], [c!, 'd.1.8']] as const) await downloadable(store(), b, chat);
    assert.deepEqual(await store().refs.marks(a!.hash), [], 'the forward\'s clearance is old now: swept');
    assert.deepEqual((await store().refs.marks(c!.hash)).map((m) => m.kind), ['cleared'], 'the collector cleared c just now');
    await collectOnce(store(), limits, t + 2 * GRACE_MS);
    assert.deepEqual(await store().refs.marks(c!.hash), []);
    await downloadable(store(), c!, 'd.1.8');
  });

  test('race: a forward lands between the collector\'s read and its decision; the blob is kept and downloadable', async () => {
    const b = blob(800);
    await store().put(b.hash, { bytes: b.bytes });
    const t = Date.now() + 5000;
    // The forward runs to completion right after the collector read "no reference". Before mark-then-sweep the
    // collector deleted the blob at this point, after the forward's reference was written.
    const s = hooked(store(), b.hash, async (nth) => {
      if (nth === 1) assert.equal((await forward(store(), b, 'd.2.7', t)).complete, true);
    });
    await collectOnce(s, limits, t);
    await downloadable(store(), b, 'd.2.7');
    await collectOnce(store(), limits, t + GRACE_MS);
    await collectOnce(store(), limits, t + 2 * GRACE_MS);
    await downloadable(store(), b, 'd.2.7');
    assert.deepEqual(await store().refs.marks(b.hash), []);
  });

  test('race in the sweep: a forward inside the sweep\'s read-to-delete step either finds the blob gone and uploads it, or the sweep skips', async () => {
    const [b, k] = [blob(800), blob(800)];
    await store().put(b!.hash, { bytes: b!.bytes });
    const t = Date.now() + 5000;
    await collectOnce(store(), limits, t);
    // k is marked half a grace later, so b's sweep run does not sweep it too.
    await store().put(k!.hash, { bytes: k!.bytes });
    await collectOnce(store(), limits, t + GRACE_MS / 2);
    // b: the forward starts right after the sweep's re-read and is not waited for: the sweep deletes, the forward's
    // settle waits a sweep step, finds the blob gone and the client uploads it again.
    let fwd: Promise<UploadProgress> | undefined;
    await collectOnce(hooked(store(), b!.hash, async (nth) => {
      if (nth === 2) fwd = forward(store(), b!, 'd.3.7', t + GRACE_MS);
    }), limits, t + GRACE_MS);
    const done = await fwd!;
    assert.equal(done.complete && done.deduplicated, false, 'stored again, not deduplicated onto a deleted blob');
    await downloadable(store(), b!, 'd.3.7');
    // k: the forward completes inside the sweep's step: the step outlasts media_sweep_step_ms_max / 2 and is skipped.
    const r = await collectOnce(hooked(store(), k!.hash, async (nth) => {
      if (nth === 2) assert.equal((await forward(store(), k!, 'd.3.8', t + 1.5 * GRACE_MS)).complete, true);
    }), limits, t + 1.5 * GRACE_MS);
    assert.ok(r.sweepsSkipped >= 1, JSON.stringify(r));
    await downloadable(store(), k!, 'd.3.8');
    await collectOnce(store(), limits, t + 3 * GRACE_MS);
    for (const [x, chat] of [[b!, 'd.3.7'], [k!, 'd.3.8']] as const) await downloadable(store(), x, chat);
  });
}

export function defineReshareAfterExpiry(store: () => BlobStore): void {
  test('a share into a chat whose reference to that content has expired writes a fresh reference (not the expired one)', async () => {
    const b = blob(300);
    await store().put(b.hash, { bytes: b.bytes });
    const old = Date.now() - 40 * 24 * 3600_000;
    await store().refs.put({ hash: b.hash, chat_id: 'd.4.7', kind: 'document', size: 300, uploader: 4, created_ms: old, members: 2, downloaded_by: [], delivered_all_ms: 0 });
    const now = Date.now();
    const p = await forward(store(), b, 'd.4.7', now);
    assert.ok(p.complete && p.deduplicated);
    assert.equal(p.complete && p.ref.created_ms, now);
    assert.equal((await store().refs.get(b.hash, 'd.4.7'))!.created_ms, now);
  });
}
