// bench/blob-stores.ts: blob store MB/s, embedded files vs the S3-API engine
// (S3Proxy, filesystem backend, on this machine: scripts/s3proxy.sh), the
// figure issue 19's closing note asks for.
//
//   node dist/bench/blob-stores.js [--size-kib 1024] [--count 48] [--seconds 10] [--range-kib 256] [--json FILE]
//
// Per engine, one after the other on the same disk:
//   put:  --count blobs of --size-kib random bytes each (hash verified, durable on return), one at a time;
//   get:  each blob read whole in --range-kib ranges (what a range download does);
//   dedupe: a second put of every blob (a forward: a stat that finds it, nothing written).
// Bounded by --count and --seconds per phase (whichever ends first). MB = 10^6 bytes.
// Caveats: S3Proxy is a Java process on the same 2 cores, its filesystem backend writes
// without fsync (the embedded engine fsyncs twice per put), and the machine is shared.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobStore } from '../server/media/blob-store';
import { FsBlobStore } from '../server/media/fs-blob-store';
import { sha256Hex } from '../server/media/hashing';
import { S3BlobStore } from '../server/media/s3-blob-store';
import { startS3Proxy } from '../deploy/services/s3proxy';

interface Options {
  sizeBytes: number;
  count: number;
  seconds: number;
  rangeBytes: number;
  json: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { sizeBytes: 1024 * 1024, count: 48, seconds: 10, rangeBytes: 256 * 1024, json: '' };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1] ?? ''];
    const n = Number(v);
    if (k === '--json') o.json = v;
    else if (!Number.isFinite(n) || n <= 0) throw new Error(`${k} ${v}: need a positive number`);
    else if (k === '--size-kib') o.sizeBytes = Math.round(n * 1024);
    else if (k === '--count') o.count = Math.min(Math.round(n), 1000);
    else if (k === '--seconds') o.seconds = Math.min(n, 120);
    else if (k === '--range-kib') o.rangeBytes = Math.round(n * 1024);
    else throw new Error(`unknown option ${k}`);
  }
  return o;
}

interface PhaseResult {
  blobs: number;
  mb_per_s: number;
  ms_per_blob: number;
}

async function phase(o: Options, n: number, one: (i: number) => Promise<void>): Promise<PhaseResult> {
  const t0 = performance.now();
  let done = 0;
  while (done < n && performance.now() - t0 < o.seconds * 1000) await one(done++);
  const ms = performance.now() - t0;
  return { blobs: done, mb_per_s: (done * o.sizeBytes) / 1e6 / (ms / 1000), ms_per_blob: ms / done };
}

async function run(o: Options, store: BlobStore): Promise<Record<string, PhaseResult>> {
  const blobs = Array.from({ length: o.count }, () => {
    const bytes = randomBytes(o.sizeBytes);
    return { bytes, hash: sha256Hex(bytes) };
  });
  const put = await phase(o, blobs.length, async (i) => {
    const r = await store.put(blobs[i]!.hash, { bytes: blobs[i]!.bytes });
    if (!r.created) throw new Error('a fresh blob was not created');
  });
  const stored = blobs.slice(0, put.blobs);
  const get = await phase(o, stored.length, async (i) => {
    for (let start = 0; start < o.sizeBytes; start += o.rangeBytes) {
      const end = Math.min(start + o.rangeBytes, o.sizeBytes) - 1;
      const got = await store.get(stored[i]!.hash, start, end);
      if (!got || got.length !== end - start + 1) throw new Error('short read');
    }
  });
  const dedupe = await phase(o, stored.length, async (i) => {
    if ((await store.put(stored[i]!.hash, { bytes: stored[i]!.bytes })).created) throw new Error('dedupe wrote a blob');
  });
  for (const b of stored) await store.delete(b.hash);
  return { put, get, dedupe };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-blobs-'));
  const s3 = startS3Proxy('wa-bench');
  const results: Record<string, Record<string, PhaseResult>> = {};
  try {
    const embedded = await FsBlobStore.open(join(dir, 'blobs'));
    results.embedded = await run(o, embedded);
    const remote = await S3BlobStore.open(s3.settings);
    results.s3 = await run(o, remote);
    await remote.close();
  } finally {
    s3.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`blob stores, ${o.count} x ${o.sizeBytes / 1024} KiB, ranges of ${o.rangeBytes / 1024} KiB, one request at a time`);
  console.log('engine     phase    blobs    MB/s   ms/blob');
  for (const [engine, phases] of Object.entries(results)) {
    for (const [name, r] of Object.entries(phases)) {
      console.log(`${engine.padEnd(10)} ${name.padEnd(8)} ${String(r.blobs).padStart(5)} ${r.mb_per_s.toFixed(1).padStart(7)} ${r.ms_per_blob.toFixed(2).padStart(9)}`);
    }
  }
  if (o.json) writeFileSync(o.json, JSON.stringify({ options: o, results }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
