// `make run-pairs`: start the system on its embedded defaults (a chat service
// and a gateway as real processes, the SQLite store in a fresh data dir), drive
// a short 1:1 pair load through it (engine/pair-load.ts, no scenario file),
// print a summary and write results/<run-id>/summary.json (the shape the
// capacity model's pair-load adapter reads; its `scenario: 'smoke'` and
// `started_by` fields are kept as they were for the files already written).
//
// Options (flags): --users 100 --rate 2000 --duration 5 --bytes 100
//   --transport lean|ws --target ws://host:port/v1/ws (skip starting the system; needs WA_TOKEN_SECRET)
//   --read (each recipient's cumulative ack also marks read: the sender gets a read receipt too;
//     off by default: delivered only)
// With the system started here it also prints frames_per_message: the gateway's own counters
// (client frames in by type, server frames out, WebSocket messages each way) per delivered message.
//   --out results/<run-id>
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../server/common/paths';
import { startSystem, type RunningSystem } from '../../deploy/local-system';
import type { TransportKind } from '../client/transport';
import { SystemDriver } from '../drivers/system-driver';
import { runPairLoad, type PairLoadResult } from '../engine/pair-load';
import { sampleValue } from '../engine/key-directory-probe';
import { ioSince, processCpuSeconds, processIo, type ProcessIo } from '../../lib/proc-cpu';

/** "loadgen 2.1 writes 2.0 reads 310 B, chat ...": I/O calls and bytes written per delivered message of each process. */
function ioPerMessageText(io: Record<string, ProcessIo | null>, delivered: number): string {
  const per = (n: number) => (delivered ? n / delivered : 0);
  return Object.entries(io).map(([k, x]) => (x
    ? `${k} ${per(x.syscw).toFixed(2)} writes ${per(x.syscr).toFixed(2)} reads ${per(x.wchar).toFixed(0)} B`
    : `${k} n/a`)).join(', ');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '100' },
      rate: { type: 'string', default: '2000' },
      duration: { type: 'string', default: '5' },
      bytes: { type: 'string', default: '100' },
      transport: { type: 'string', default: 'lean' },
      read: { type: 'boolean', default: false },
      target: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const users = positiveInt(values.users!, '--users');
  const rate = positiveInt(values.rate!, '--rate');
  const durationS = positiveInt(values.duration!, '--duration');
  const bytes = positiveInt(values.bytes!, '--bytes');
  const transport = values.transport as TransportKind;
  if (transport !== 'lean' && transport !== 'ws') throw new Error('--transport must be lean or ws');

  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-smoke`;
  const outDir = values.out ?? join(REPO_ROOT, 'results', runId);
  let system: RunningSystem | null = null;
  let url = values.target;
  let secret = process.env.WA_TOKEN_SECRET ?? '';
  if (!url) {
    // The chat service picks its store from the environment (server/common/config.ts): say which one this run has.
    const store = process.env.WA_STORE === 'scylla' ? `ScyllaDB store at ${process.env.WA_SCYLLA_CONTACT_POINTS ?? '127.0.0.1:9042'}` : 'embedded store';
    console.log(`starting the system: chat service + gateway (${store}) ...`);
    system = await startSystem({});
    url = system.gatewayUrl;
    secret = system.secret;
    const h = await system.health();
    console.log(`  gateway ${url} (uWS ${h.uws}), chat service ${system.chatTarget}, data ${system.opts.dataDir}`);
  } else if (!secret) {
    throw new Error('--target needs WA_TOKEN_SECRET (the secret the target system verifies tokens with)');
  }

  const gatewayMetricsUrl = system ? system.metricsUrls().gateways[0]! : null;
  const framesBefore = gatewayMetricsUrl ? await gatewayFrames(gatewayMetricsUrl) : null;
  let framesDelta: GatewayFrames | null = null;
  const pids: Record<string, number> = system ? { chat: system.chat.child.pid!, gateway: system.gateways[0]!.child.pid! } : {};
  const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuSeconds(pid) ?? 0]));
  // I/O calls per message (/proc/<pid>/io) from here to the end: the setup's connects are in them, a few per user.
  const ioPids: Record<string, number> = { loadgen: process.pid, ...pids };
  const ioBefore = Object.fromEntries(Object.entries(ioPids).map(([k, pid]) => [k, processIo(pid)]));
  const io: Record<string, ProcessIo | null> = {};
  const autoRead = values.read === true;
  console.log(`load: ${users} users in 1:1 pairs, ${rate} msg/s for ${durationS}s, ${bytes}-byte messages, ${transport} client, ` +
    `receipts: ${autoRead ? 'delivered + read' : 'delivered only'}`);
  let result: PairLoadResult;
  try {
    result = await runPairLoad(new SystemDriver({ url, secret, transport, autoRead, userBase: Date.now() % 1_000_000_000 }), {
      users, stages: [{ rate, durationS }], messageBytes: bytes, progress: (line) => console.log(`  ${line}`),
    });
  } finally {
    if (system) {
      const cpuAfter = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuSeconds(pid) ?? 0]));
      for (const [k, pid] of Object.entries(ioPids)) io[k] = ioSince(ioBefore[k]!, processIo(pid));
      if (gatewayMetricsUrl && framesBefore) framesDelta = framesSince(framesBefore, await gatewayFrames(gatewayMetricsUrl));
      Object.assign(cpuBefore, Object.fromEntries(Object.keys(pids).map((k) => [k, cpuAfter[k]! - cpuBefore[k]!])));
      await system.stop();
    }
  }
  const stage = result.stages[0]!;
  const lat = stage.latency;
  const cpuPerMsgUs = (s: number) => (stage.delivered ? (s * 1e6) / stage.delivered : 0);
  const lines = [
    '',
    `     messages_sent..........: ${stage.sent}  (${stage.achievedRate.toFixed(0)}/s scheduled rate achieved)`,
    `     messages_delivered.....: ${stage.delivered}`,
    `     delivery_lost..........: ${stage.lost}`,
    `     delivery_duplicated....: ${stage.duplicated}`,
    `     delivery_out_of_order..: ${stage.outOfOrder}`,
    `     delivery_latency.......: p(50)=${lat.p50_ms}ms p(95)=${lat.p95_ms}ms p(99)=${lat.p99_ms}ms p(99.9)=${lat.p999_ms}ms max=${lat.max_ms}ms`,
    `     connect_time...........: ${result.connectMs.toFixed(0)}ms for ${users} connections`,
    `     errors.................: ${result.errors}`,
    `     cpu_per_message........: loadgen ${cpuPerMsgUs(result.loadgenCpuUs / 1e6).toFixed(1)}us` +
      Object.entries(cpuBefore).map(([k, s]) => `, ${k} ${cpuPerMsgUs(s).toFixed(1)}us`).join(''),
    `     io_per_message.........: ${ioPerMessageText(io, stage.delivered)}`,
    ...(framesDelta ? [`     frames_per_message.....: ${framesPerMessageText(framesDelta, stage.delivered)}`] : []),
    '',
  ];
  console.log(lines.join('\n'));
  mkdirSync(outDir, { recursive: true });
  const summary = {
    run_id: runId, scenario: 'smoke', started_by: 'make run', machine: { hostname: hostname(), cpus: cpus().length, node: process.version },
    options: { users, rate, duration_s: durationS, message_bytes: bytes, transport, read_receipts: autoRead },
    result, cpu_seconds: cpuBefore, io, gateway_frames: framesDelta,
  };
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2));
  console.log(`results: ${outDir}/summary.json`);
  const ok = stage.lost === 0 && stage.duplicated === 0 && stage.outOfOrder === 0;
  if (!ok) console.log('FAILED: messages were lost, duplicated or reordered');
  return ok ? 0 : 1;
}

/** The gateway's frame counters (server/metrics/gateway-metrics.ts), from its /metrics. */
interface GatewayFrames {
  /** Client frames received, by type (send, ack, ...). */
  inByType: Record<string, number>;
  out: number;
  wsIn: number;
  wsOut: number;
}

async function gatewayFrames(url: string): Promise<GatewayFrames> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
  const inByType: Record<string, number> = {};
  for (const m of text.matchAll(/^wa_gateway_frames_received_total\{type="([a-z_]+)"\} ([^\s]+)$/gm)) inByType[m[1]!] = Number(m[2]);
  return {
    inByType,
    out: sampleValue(text, 'wa_gateway_frames_sent_total'),
    wsIn: sampleValue(text, 'wa_gateway_ws_messages_received_total'),
    wsOut: sampleValue(text, 'wa_gateway_ws_messages_sent_total'),
  };
}

function framesSince(a: GatewayFrames, b: GatewayFrames): GatewayFrames {
  const inByType: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.inByType)) if (v - (a.inByType[k] ?? 0) > 0) inByType[k] = v - (a.inByType[k] ?? 0);
  return { inByType, out: b.out - a.out, wsIn: b.wsIn - a.wsIn, wsOut: b.wsOut - a.wsOut };
}

/** "in 1.95 (send 1.00, ack 0.95), out 2.90, total 4.85; WebSocket messages in 1.80, out 2.10". */
function framesPerMessageText(f: GatewayFrames, delivered: number): string {
  const per = (n: number) => (delivered ? n / delivered : 0).toFixed(2);
  const inTotal = Object.values(f.inByType).reduce((a, b) => a + b, 0);
  const byType = Object.entries(f.inByType).map(([k, v]) => `${k} ${per(v)}`).join(', ');
  return `in ${per(inTotal)} (${byType}), out ${per(f.out)}, total ${per(inTotal + f.out)}; WebSocket messages in ${per(f.wsIn)}, out ${per(f.wsOut)}`;
}

function positiveInt(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`run failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
