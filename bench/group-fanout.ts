// The issue-3 figures: group fan-out deliveries/s for 256-member groups at
// p99 delivery < 100 ms through the whole system, against the bare uWS
// fan-out fixture (bench/fixtures/bare-forwarder.ts --fanout-group-size 256,
// coalesced per socket per turn) under the same load, in one run; and the
// gateway's WebSocket messages and write syscalls per delivery with and
// without per-socket coalescing (WA_GATEWAY_COALESCE=0).
//
// Load: G groups of 256 connections; one member of each group sends at an
// open-model rate (messages/s per group, stepped up), every other member
// receives. Latency counts from the scheduled send time at every recipient.
//
//   node dist/bench/group-fanout.js [--groups 2] [--step-seconds 3] [--rates 20,50,100,200,400,800,1600]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ChatClient } from '../loadgen/client/chat-client';
import { LeanWebSocket } from '../loadgen/client/lean-ws';
import { LatencyHistogram } from '../loadgen/metrics/latency';
import { processCpuSeconds } from '../lib/proc-cpu';
import { DIST_DIR } from '../server/common/paths';
import { PROVISIONED_USER_ID_MIN } from '../server/common/ids';
import { mintToken } from '../server/common/token';
import { startSystem } from '../deploy/local-system';
import { runOpenLoop } from '../lib/open-loop';

const GROUP_SIZE = 256;
const P99_MAX_MS = 100;

interface Member {
  send(payload: Buffer): void;
  onPayload: (p: Uint8Array) => void;
  close(): void;
}

interface StepResult {
  rate_per_group: number;
  scheduled: number;
  deliveries: number;
  expected: number;
  deliveries_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

async function runSteps(label: string, groups: Member[][], rates: number[], stepS: number): Promise<StepResult[]> {
  const results: StepResult[] = [];
  let stage = 0;
  const hist = new LatencyHistogram();
  let deliveries = 0;
  for (const members of groups) {
    for (const m of members.slice(1)) {
      m.onPayload = (p) => {
        if (p.length < 9 || p[8] !== stage) return;
        deliveries++;
        hist.recordMs(performance.now() - Buffer.from(p.buffer, p.byteOffset, p.length).readDoubleLE(0));
      };
    }
  }
  for (const rate of rates) {
    hist.reset();
    deliveries = 0;
    const total = Math.round(rate * stepS);
    const start = await runOpenLoop({
      rate,
      total,
      send: (due) => {
        for (const members of groups) {
          const payload = Buffer.alloc(100);
          payload.writeDoubleLE(due, 0);
          payload[8] = stage;
          members[0]!.send(payload);
        }
      },
    });
    const expected = total * groups.length * (GROUP_SIZE - 1);
    const deadline = performance.now() + 3000;
    while (deliveries < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const elapsedS = (performance.now() - start) / 1000;
    const r: StepResult = {
      rate_per_group: rate, scheduled: total * groups.length, deliveries, expected,
      deliveries_per_s: Math.round(deliveries / Math.max(stepS, elapsedS - 3)),
      p50_ms: hist.percentileMs(50), p99_ms: hist.percentileMs(99), max_ms: hist.percentileMs(100),
    };
    results.push(r);
    console.log(`  ${label}: ${rate}/s per group -> ${r.deliveries}/${expected} deliveries, ${r.deliveries_per_s}/s, p50 ${r.p50_ms.toFixed(1)}ms p99 ${r.p99_ms.toFixed(1)}ms`);
    stage++;
    if (r.p99_ms > P99_MAX_MS || deliveries < expected) break;
  }
  return results;
}

function sustained(results: StepResult[]): number {
  let best = 0;
  for (const r of results) if (r.p99_ms < P99_MAX_MS && r.deliveries === r.expected) best = Math.max(best, r.deliveries_per_s);
  return best;
}

async function bare(groupCount: number, rates: number[], stepS: number): Promise<{ results: StepResult[]; cpu: number }> {
  const child = spawn(process.execPath, [join(DIST_DIR, 'bench/fixtures/bare-forwarder.js'), '--port', '0', '--fanout-group-size', String(GROUP_SIZE)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  const groups: Member[][] = [];
  for (let g = 0; g < groupCount; g++) {
    const members: Member[] = [];
    for (let i = 1; i <= GROUP_SIZE; i++) {
      const ws = await LeanWebSocket.connect({ url: `ws://127.0.0.1:${port}/?id=${g * GROUP_SIZE + i}` });
      const m: Member = {
        send: (p) => {
          const msg = Buffer.allocUnsafe(8 + p.length);
          msg.writeDoubleLE(-(g + 1), 0);
          msg.set(p, 8);
          ws.send(msg);
        },
        onPayload: () => {},
        close: () => ws.close(),
      };
      ws.onmessage = (d) => m.onPayload(d.subarray(8));
      members.push(m);
    }
    groups.push(members);
  }
  await runSteps('warm-up', groups, [rates[0]!], 1);
  const cpu0 = processCpuSeconds(child.pid!) ?? 0;
  const results = await runSteps('bare', groups, rates, stepS);
  const cpu = (processCpuSeconds(child.pid!) ?? 0) - cpu0;
  for (const g of groups) for (const m of g) m.close();
  child.kill('SIGTERM');
  return { results, cpu };
}

async function full(groupCount: number, rates: number[], stepS: number, coalesce: boolean, traceSyscalls = false) {
  const sys = await startSystem({ env: coalesce ? {} : { WA_GATEWAY_COALESCE: '0' } });
  const base = PROVISIONED_USER_ID_MIN + (Date.now() % 100_000_000) * 10;
  const groups: Member[][] = [];
  const clients: ChatClient[] = [];
  for (let g = 0; g < groupCount; g++) {
    const ids = Array.from({ length: GROUP_SIZE }, (_, i) => base + g * GROUP_SIZE + i);
    const members: Member[] = [];
    let chatId = '';
    for (const id of ids) {
      const c = await ChatClient.connect({ url: sys.gatewayUrl, token: mintToken(sys.secret, id, 3600), kind: 'lean', ackDelayMs: 5 });
      clients.push(c);
      const m: Member = { send: (p) => c.sendToChatNoWait(chatId, p), onPayload: () => {}, close: () => c.close() };
      c.onMessage = (msg) => {
        if (!msg.system) m.onPayload(msg.body);
      };
      members.push(m);
    }
    chatId = (await clients[g * GROUP_SIZE]!.createGroup(`bench-${g}`, ids.slice(1))).chat_id;
    groups.push(members);
  }
  await new Promise((r) => setTimeout(r, 500));
  const gwPid = sys.gateways[0]!.child.pid!;
  // Warm-up (JIT, caches), not measured.
  await runSteps('warm-up', groups, [rates[0]!], 1);
  const tracer = traceSyscalls ? startStrace(gwPid) : null;
  const cpu0 = { gw: processCpuSeconds(gwPid) ?? 0, chat: processCpuSeconds(sys.chat.child.pid!) ?? 0 };
  const results = await runSteps(coalesce ? 'full' : 'full, no coalescing', groups, rates, stepS);
  const writeSyscalls = tracer ? await tracer.stop() : 0;
  const cpu = { gw: (processCpuSeconds(gwPid) ?? 0) - cpu0.gw, chat: (processCpuSeconds(sys.chat.child.pid!) ?? 0) - cpu0.chat };
  for (const c of clients) c.close();
  const out = await sys.stop();
  const statsLine = out['gateway-0']!.find((l) => l.includes('stats')) ?? '';
  const stats = JSON.parse(statsLine.slice(statsLine.indexOf('{'))) as { framesOut: number; wsMessagesOut: number };
  return { results, cpu, writeSyscalls, stats };
}

/**
 * Count the gateway's socket-write syscalls with `strace -c` (exact counts;
 * ptrace slows the traced process, so latency in a traced step is not quoted).
 */
function startStrace(pid: number): { stop: () => Promise<number> } {
  const child = spawn('strace', ['-c', '-f', '-e', 'trace=sendto,sendmsg,write,writev', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  return {
    stop: () =>
      new Promise((resolve) => {
        child.on('exit', () => {
          let calls = 0;
          for (const line of err.split('\n')) {
            const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(sendto|sendmsg|write|writev)\s*$/.exec(line);
            if (m) calls += Number(m[1]);
          }
          resolve(calls);
        });
        child.kill('SIGINT');
      }),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      groups: { type: 'string', default: '2' },
      'step-seconds': { type: 'string', default: '3' },
      rates: { type: 'string', default: '20,50,100,150,200,300,400,600,800' },
      'coalesce-rate': { type: 'string', default: '300' },
    },
  });
  const groupCount = Number(values.groups);
  const stepS = Number(values['step-seconds']);
  const rates = values.rates!.split(',').map(Number);
  console.log(`group fan-out: ${groupCount} groups x ${GROUP_SIZE} members, one sender per group, steps of ${stepS}s`);
  const b = await bare(groupCount, rates, stepS);
  const f = await full(groupCount, rates, stepS, true);
  const coalesceRate = Number(values['coalesce-rate']);
  const fNo = await full(groupCount, [coalesceRate], stepS, false, true);
  const fYes = await full(groupCount, [coalesceRate], stepS, true, true);
  const bareRate = sustained(b.results);
  const fullRate = sustained(f.results);
  console.log('');
  console.log(`bare fan-out fixture: ${bareRate} deliveries/s sustained at p99 < ${P99_MAX_MS} ms`);
  console.log(`full system:          ${fullRate} deliveries/s sustained at p99 < ${P99_MAX_MS} ms`);
  console.log(`ratio full/bare: ${bareRate ? (fullRate / bareRate).toFixed(3) : 'n/a'}`);
  const d = (x: { results: StepResult[] }) => Math.max(1, x.results.reduce((a, r) => a + r.deliveries, 0));
  const per = (x: { results: StepResult[]; writeSyscalls: number; stats: { framesOut: number; wsMessagesOut: number } }) => {
    const d = x.results.reduce((a, r) => a + r.deliveries, 0);
    return `${(x.stats.wsMessagesOut / Math.max(1, x.stats.framesOut)).toFixed(3)} WS messages per frame, ` +
      `${(x.writeSyscalls / Math.max(1, d)).toFixed(3)} write syscalls per delivery (${d} deliveries)`;
  };
  console.log(`at ${coalesceRate} msg/s per group (strace attached), gateway with coalescing:    ${per(fYes)}`);
  console.log(`at ${coalesceRate} msg/s per group (strace attached), gateway without coalescing: ${per(fNo)}`);
  if (fYes.writeSyscalls && fNo.writeSyscalls) {
    console.log(`syscalls per delivery, coalesced / not: ${((fYes.writeSyscalls / d(fYes)) / (fNo.writeSyscalls / d(fNo))).toFixed(3)}`);
  }
  console.log(`CPU per delivery over the ramp: bare forwarder ${((b.cpu * 1e6) / d(b)).toFixed(2)}us; ` +
    `gateway ${((f.cpu.gw * 1e6) / d(f)).toFixed(2)}us, chat ${((f.cpu.chat * 1e6) / d(f)).toFixed(2)}us`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
