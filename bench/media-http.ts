// bench/media-http.ts: media through the real system (one gateway process,
// the chat service, the blob store), the figures issue 19's closing note asks for:
//   upload and download MB/s, and MB per gateway CPU-second (= MB/s per gateway core);
//   end to end, a media message at a fixed rate: scheduled -> encrypted -> uploaded -> sent
//   -> delivered -> downloaded -> decrypted and verified; p50/p99/max, integrity exact.
//
//   node dist/bench/media-http.js [--store embedded|s3] [--size-kib 1024] [--uploaders 4]
//        [--seconds 8] [--e2e-rate 4] [--e2e-count 40] [--json FILE]
//   --json writes the figures in the capacity model's bench-run format (tools/capacity-model/bench-run.ts, kind media):
//   `make capacity` with that file sizes the media tier from them.
//
// Upload/download phases use pre-encrypted random files (encryption is the client's CPU, not the
// gateway's); each phase is bounded by --seconds and 200 files. MB = 10^6 bytes. The box is shared
// and the generator runs on the same 2 cores: figures are this machine's, under that load.
import { randomBytes } from 'node:crypto';
import { processCpuNs } from '../lib/proc-cpu';
import { writeBenchJson } from './bench-json';
import { percentileOfSorted } from '../lib/stats';
import { directChatId } from '../server/common/chat-id';
import { mintToken } from '../server/common/token';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { startS3Proxy, type RunningS3Proxy } from '../deploy/services/s3proxy';
import { provisionUsers } from '../loadgen/engine/provision';
import { ChatClient } from '../loadgen/client/chat-client';
import { MediaClient } from '../loadgen/client/media-client';
import { decryptMedia, encryptMedia } from '../loadgen/client/media-crypto';

const FILES_PER_PHASE_MAX = 200;
const CHUNK_BYTES = 1024 * 1024;

interface Options { store: 'embedded' | 's3'; sizeBytes: number; uploaders: number; seconds: number; e2eRate: number; e2eCount: number; json: string }

function parseArgs(argv: string[]): Options {
  const o: Options = { store: 'embedded', sizeBytes: 1024 * 1024, uploaders: 4, seconds: 8, e2eRate: 4, e2eCount: 40, json: '' };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i]!, argv[i + 1] ?? ''];
    if (k === '--store' && (v === 'embedded' || v === 's3')) o.store = v;
    else if (k === '--json') o.json = v;
    else if (k === '--size-kib') o.sizeBytes = Math.round(Number(v) * 1024);
    else if (k === '--uploaders') o.uploaders = Math.min(32, Number(v));
    else if (k === '--seconds') o.seconds = Math.min(60, Number(v));
    else if (k === '--e2e-rate') o.e2eRate = Math.min(50, Number(v));
    else if (k === '--e2e-count') o.e2eCount = Math.min(500, Number(v));
    else throw new Error(`unknown or bad option ${k} ${v}`);
  }
  if (![o.sizeBytes, o.uploaders, o.seconds, o.e2eRate, o.e2eCount].every((n) => Number.isFinite(n) && n > 0)) throw new Error('options must be positive');
  return o;
}

interface Pair { a: number; b: number; chat: string; up: MediaClient; down: MediaClient }

/** Runs `workers` loops of `one` until --seconds or the file cap; returns bytes moved, wall seconds and gateway CPU seconds. */
async function phase(sys: RunningSystem, o: Options, workers: number, one: (n: number) => Promise<number>) {
  const pid = sys.gateways[0]!.child.pid!;
  const cpu0 = processCpuNs(pid) ?? 0;
  const t0 = performance.now();
  let next = 0;
  let bytes = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < FILES_PER_PHASE_MAX && performance.now() - t0 < o.seconds * 1000) bytes += await one(next++);
  }));
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = ((processCpuNs(pid) ?? 0) - cpu0) / 1e9;
  return { files: next, mb: bytes / 1e6, mb_per_s: bytes / 1e6 / wallS, gateway_cpu_s: cpuS, mb_per_gateway_cpu_s: bytes / 1e6 / cpuS };
}

async function endToEnd(sys: RunningSystem, o: Options, pairs: Pair[]) {
  const file = randomBytes(o.sizeBytes);
  const latencies: number[] = [];
  let verified = 0;
  let failed = 0;
  const receivers = await Promise.all(pairs.map((p) => ChatClient.connect({ url: `ws://127.0.0.1:${sys.gatewayPorts[0]}/v1/ws`, token: mintToken(sys.secret, p.b, 3600), kind: 'lean' })));
  const senders = await Promise.all(pairs.map((p) => ChatClient.connect({ url: `ws://127.0.0.1:${sys.gatewayPorts[0]}/v1/ws`, token: mintToken(sys.secret, p.a, 3600), kind: 'lean' })));
  const pending: Promise<void>[] = [];
  receivers.forEach((r, i) => {
    r.onMessage = (m) => {
      const d = JSON.parse(Buffer.from(m.body).toString()) as { h: string; k: string; f: string; n: number; s: number };
      pending.push(pairs[i]!.down.download(d.h, pairs[i]!.chat).then((got) => {
        const plain = decryptMedia(got.bytes, 'image', { mediaKey: Buffer.from(d.k, 'base64'), encSha256: d.h, fileSha256: d.f, fileBytes: d.n });
        if (!plain.equals(file)) throw new Error('decrypted bytes differ');
        latencies.push(Date.now() - d.s);
        verified++;
      }).catch(() => void failed++));
    };
  });
  const t0 = Date.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < o.e2eCount; i++) {
    const scheduled = t0 + (i * 1000) / o.e2eRate;
    await new Promise((r) => setTimeout(r, Math.max(0, scheduled - Date.now())));
    const p = pairs[i % pairs.length]!;
    sends.push((async () => {
      const e = encryptMedia(file, 'image');
      const up = await p.up.upload({ chat_id: p.chat, kind: 'image', size: e.upload.length, sha256: e.encSha256 }, e.upload, CHUNK_BYTES);
      if (!up.json.complete) throw new Error(`upload refused: ${JSON.stringify(up.json)}`);
      const body = { h: e.encSha256, k: e.mediaKey.toString('base64'), f: e.fileSha256, n: e.fileBytes, s: scheduled };
      await senders[i % pairs.length]!.send(p.b, Buffer.from(JSON.stringify(body)));
    })().catch(() => void failed++));
  }
  await Promise.all(sends);
  const deadline = Date.now() + 30_000;
  while (verified + failed < o.e2eCount && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await Promise.all(pending);
  for (const c of [...senders, ...receivers]) c.close();
  latencies.sort((x, y) => x - y);
  return { sent: o.e2eCount, verified, failed, p50_ms: percentileOfSorted(latencies, 50), p99_ms: percentileOfSorted(latencies, 99), max_ms: latencies[latencies.length - 1] ?? NaN };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  let s3: RunningS3Proxy | null = null;
  const env: Record<string, string> = { WA_BLOB_STORE: o.store };
  if (o.store === 's3') {
    s3 = startS3Proxy('wa-bench-media');
    Object.assign(env, { WA_BLOB_S3_ENDPOINT: s3.settings.endpoint, WA_BLOB_S3_BUCKET: s3.settings.bucket, WA_BLOB_S3_ACCESS_KEY: s3.settings.accessKeyId, WA_BLOB_S3_SECRET_KEY: s3.settings.secretAccessKey });
  }
  const sys = await startSystem({ gateways: 1, env });
  try {
    const first = 9_000_000_000 + (Date.now() % 1_000_000) * 100;
    await provisionUsers(sys.chatTarget, first, o.uploaders * 2, sys.secret);
    const base = `http://127.0.0.1:${sys.gatewayPorts[0]}`;
    const pairs: Pair[] = Array.from({ length: o.uploaders }, (_, i) => {
      const [a, b] = [first + 2 * i, first + 2 * i + 1];
      return { a, b, chat: directChatId(a, b), up: new MediaClient(base, mintToken(sys.secret, a, 3600)), down: new MediaClient(base, mintToken(sys.secret, b, 3600)) };
    });
    // Encrypted before the phase: the phase measures the gateway, not the client's cipher.
    const files = Array.from({ length: FILES_PER_PHASE_MAX }, () => encryptMedia(randomBytes(o.sizeBytes), 'document'));
    const stored: { hash: string; pair: Pair }[] = [];
    const upload = await phase(sys, o, o.uploaders, async (n) => {
      const pair = pairs[n % pairs.length]!;
      const e = files[n]!;
      const r = await pair.up.upload({ chat_id: pair.chat, kind: 'document', size: e.upload.length, sha256: e.encSha256 }, e.upload, CHUNK_BYTES);
      if (!r.json.complete) throw new Error(`upload refused: ${JSON.stringify(r.json)}`);
      stored.push({ hash: e.encSha256, pair });
      return e.upload.length;
    });
    const download = await phase(sys, o, o.uploaders, async (n) => {
      const s = stored[n % stored.length]!;
      const got = await s.pair.down.download(s.hash, s.pair.chat);
      if (got.status !== 200) throw new Error(`download answered ${got.status}`);
      return got.bytes.length;
    });
    const e2e = await endToEnd(sys, o, pairs);
    console.log(`media over HTTP, ${o.store} blob store, ${o.sizeBytes / 1024} KiB files, ${o.uploaders} clients, one gateway`);
    for (const [name, r] of [['upload', upload], ['download', download]] as const) {
      console.log(`${name.padEnd(9)} ${r.files} files  ${r.mb_per_s.toFixed(1)} MB/s  gateway CPU ${r.gateway_cpu_s.toFixed(2)} s  ${r.mb_per_gateway_cpu_s.toFixed(1)} MB per gateway CPU-second`);
    }
    console.log(`end to end at ${o.e2eRate}/s: ${e2e.verified}/${e2e.sent} downloaded and verified, ${e2e.failed} failed; p50 ${e2e.p50_ms} ms, p99 ${e2e.p99_ms} ms, max ${e2e.max_ms} ms`);
    if (o.json) {
      writeBenchJson(o.json, 'media', {
        store: o.store, file_bytes: o.sizeBytes, upload_mb_per_s: upload.mb_per_s, download_mb_per_s: download.mb_per_s,
        upload_mb_per_gateway_cpu_s: upload.mb_per_gateway_cpu_s, download_mb_per_gateway_cpu_s: download.mb_per_gateway_cpu_s,
        e2e_sent: e2e.sent, e2e_verified: e2e.verified, e2e_p99_ms: Number.isFinite(e2e.p99_ms) ? e2e.p99_ms : 0,
      });
    }
  } finally {
    await sys.stop();
    s3?.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
