// What metrics cost on the full 1:1 path: the same load against the system
// with metrics on (WA_METRICS=1, scraped every --scrape-seconds, default 1 like the
// live test, a worst case: production scrapes every 15 s) and off (WA_METRICS=0: no
// hot-path observations, no default collectors), interleaved on/off/off/on...
// so drift in the machine's background load hits both sides alike.
//
//   node dist/bench/metrics-overhead.js [--rounds 3] [--rate 5000] [--seconds 6] [--users 100]
//        [--ramp 8000,12000,16000,20000,24000,28000,32000] [--step-seconds 3] [--no-scrape] [--scrape-seconds 1] [--concurrent [--aa]] [--json out.json]
//
// --concurrent runs the on and off systems at the same time, each with its own load (half the machine
// each): background load from other processes then hits both sides in the same seconds. --aa (with
// --concurrent) runs metrics off on both sides: the ratio it prints is the method's own noise.
//
// Two figures, both as on/off ratios:
//   1. CPU per delivered message of the gateway and the chat service at a fixed rate (low noise);
//   2. the highest ramp step each side sustains with p99 < 100 ms and nothing lost (what the issue asks:
//      full-path msgs/s with metrics on vs off).
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { SystemDriver } from '../loadgen/drivers/system-driver';
import { runPairLoad, type PairLoadResult } from '../loadgen/engine/pair-load';
import { processCpuSeconds } from '../lib/proc-cpu';
import { startSystem } from '../deploy/local-system';
import { median } from '../lib/stats';

const P99_MAX_MS = 100;
let scrapeSeconds = 1;

interface Run {
  metrics: 'on' | 'off';
  result: PairLoadResult;
  cpuUsPerMsg: { gateway: number; chat: number };
  scrapes: number;
}

interface Side {
  metrics: 'on' | 'off';
  stop(): Promise<void>;
  measure(stages: { rate: number; durationS: number }[], stopAtP99: boolean): Promise<Run>;
}

async function startSide(metrics: 'on' | 'off', users: number, scrape: boolean, quiet = false): Promise<Side> {
  const scrapeMs = scrapeSeconds * 1000;
  const sys = await startSystem({ env: { WA_METRICS: metrics === 'on' ? '1' : '0', WA_METRICS_DEFAULTS: process.env.WA_METRICS_DEFAULTS ?? '1' } });
  const pids = { gateway: sys.gateways[0]!.child.pid!, chat: sys.chat.child.pid! };
  let scrapes = 0;
  let scraping = scrape && metrics === 'on';
  const urls = sys.metricsUrls();
  const scraper = (async () => {
    while (scraping) {
      await Promise.all([fetch(urls.chat), fetch(urls.gateways[0]!)].map((p) => p.then((r) => r.text())));
      scrapes++;
      await new Promise((r) => setTimeout(r, scrapeMs));
    }
  })();
  return {
    metrics,
    stop: async () => {
      scraping = false;
      await scraper.catch(() => {});
      await sys.stop();
    },
    measure: async (stages, stopAtP99) => {
      const driver = new SystemDriver({ url: sys.gatewayUrl, secret: sys.secret, userBase: Date.now() % 1_000_000_000 });
      const cpu0 = { gateway: processCpuSeconds(pids.gateway)!, chat: processCpuSeconds(pids.chat)! };
      const scrapes0 = scrapes;
      const result = await runPairLoad(driver, {
        users, stages, graceMs: 1500, stopWhenP99AboveMs: stopAtP99 ? P99_MAX_MS : undefined,
        progress: quiet ? undefined : (line) => process.stdout.write(`\r  metrics ${metrics}: ${line}          `),
      });
      if (!quiet) process.stdout.write('\n');
      const delivered = Math.max(1, result.stages.reduce((a, s) => a + s.delivered, 0));
      const cpuUsPerMsg = {
        gateway: ((processCpuSeconds(pids.gateway)! - cpu0.gateway) * 1e6) / delivered,
        chat: ((processCpuSeconds(pids.chat)! - cpu0.chat) * 1e6) / delivered,
      };
      return { metrics, result, cpuUsPerMsg, scrapes: scrapes - scrapes0 };
    },
  };
}

async function runOnce(metrics: 'on' | 'off', users: number, stages: { rate: number; durationS: number }[], scrape: boolean, stopAtP99: boolean): Promise<Run> {
  const side = await startSide(metrics, users, scrape);
  try {
    return await side.measure(stages, stopAtP99);
  } finally {
    await side.stop();
  }
}

/** Both systems at once, each with its own load, so background noise hits both in the same seconds. */
async function runConcurrent(users: number, stages: { rate: number; durationS: number }[], scrape: boolean, round: number, aa: boolean): Promise<Run[]> {
  // Alternate which side starts first; --aa runs off against off to show the method's own bias.
  const kinds: ('on' | 'off')[] = aa ? ['off', 'off'] : round % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
  const sides = [await startSide(kinds[0]!, users, scrape, true), await startSide(kinds[1]!, users, scrape, true)];
  try {
    const runs = await Promise.all(sides.map((side) => side.measure(stages, false)));
    if (aa) runs[0]!.metrics = 'on'; // label the first "off" as the "on" side: the ratio is then off/off
    return runs;
  } finally {
    for (const side of sides) await side.stop();
  }
}

function sustained(run: Run): number {
  let best = 0;
  for (const s of run.result.stages) if (s.latency.p99_ms < P99_MAX_MS && s.lost === 0 && s.duplicated === 0) best = Math.max(best, s.rate);
  return best;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      rate: { type: 'string', default: '5000' },
      seconds: { type: 'string', default: '6' },
      users: { type: 'string', default: '100' },
      ramp: { type: 'string', default: '8000,12000,16000,20000,24000,28000,32000' },
      'step-seconds': { type: 'string', default: '3' },
      'no-scrape': { type: 'boolean', default: false },
      concurrent: { type: 'boolean', default: false },
      aa: { type: 'boolean', default: false },
      'scrape-seconds': { type: 'string', default: '1' },
      json: { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const users = Number(values.users);
  const ramp = values.ramp!.split(',').filter(Boolean).map(Number);
  const stepS = Number(values['step-seconds']);
  const scrape = !values['no-scrape'];
  scrapeSeconds = Number(values['scrape-seconds']);
  const load0 = loadavg()[0]!;
  console.log(`metrics on vs off: ${users} users, ${rounds} rounds at ${rate} msg/s for ${seconds}s, then a ramp ${ramp.join(',')} ` +
    `(${stepS}s steps); scrape every ${scrapeSeconds}s when on: ${scrape}; load average at start ${load0.toFixed(2)}`);

  const fixed: Run[] = [];
  for (let i = 0; i < rounds; i++) {
    if (values.concurrent) {
      // Both systems at once (each its own gateway and chat service, each its own load): the same background noise for both.
      process.stdout.write(`  round ${i + 1}/${rounds}: on and off side by side at ${rate} msg/s each\n`);
      fixed.push(...(await runConcurrent(users, [{ rate, durationS: seconds }], scrape, i, values.aa!)));
      continue;
    }
    // on, off, off, on, on, off ...: neither side always goes first.
    const order: ('on' | 'off')[] = i % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    for (const m of order) fixed.push(await runOnce(m, users, [{ rate, durationS: seconds }], scrape, false));
  }
  const side = (m: 'on' | 'off') => fixed.filter((r) => r.metrics === m);
  const cpu = (m: 'on' | 'off', k: 'gateway' | 'chat') => median(side(m).map((r) => r.cpuUsPerMsg[k]));
  const p99 = (m: 'on' | 'off') => median(side(m).map((r) => r.result.stages[0]!.latency.p99_ms));
  // Each round ran on and off back to back: their ratio cancels the machine's drift between rounds.
  const pairRatio = (k: 'gateway' | 'chat') => median(Array.from({ length: rounds }, (_, i) => {
    const [x, y] = [fixed[2 * i]!, fixed[2 * i + 1]!];
    const [on, off] = x.metrics === 'on' ? [x, y] : [y, x];
    return on.cpuUsPerMsg[k] / off.cpuUsPerMsg[k];
  }));
  const lines = [
    '',
    `fixed rate ${rate} msg/s, medians of ${rounds}:`,
    `  median of per-round on/off CPU ratios: gateway ${pairRatio('gateway').toFixed(3)}, chat ${pairRatio('chat').toFixed(3)}`,
    `  CPU per delivered message  gateway: on ${cpu('on', 'gateway').toFixed(2)} us, off ${cpu('off', 'gateway').toFixed(2)} us, ratio ${(cpu('on', 'gateway') / cpu('off', 'gateway')).toFixed(3)}`,
    `                             chat:    on ${cpu('on', 'chat').toFixed(2)} us, off ${cpu('off', 'chat').toFixed(2)} us, ratio ${(cpu('on', 'chat') / cpu('off', 'chat')).toFixed(3)}`,
    `  p99 delivery latency: on ${p99('on').toFixed(2)} ms, off ${p99('off').toFixed(2)} ms`,
    ...fixed.map((r) => `    ${r.metrics.padEnd(3)}: gateway ${r.cpuUsPerMsg.gateway.toFixed(1)} us, chat ${r.cpuUsPerMsg.chat.toFixed(1)} us, ` +
      `p99 ${r.result.stages[0]!.latency.p99_ms.toFixed(1)} ms, delivered ${r.result.stages[0]!.delivered} ` +
      `(${(r.result.stages[0]!.delivered / seconds).toFixed(0)}/s), scrapes ${r.scrapes}`),
  ];
  if (values.concurrent) {
    // Side by side at a rate neither sustains, delivered/s is each side's throughput on half the machine.
    const perRound = Array.from({ length: rounds }, (_, i) => {
      const [x, y] = [fixed[2 * i]!, fixed[2 * i + 1]!];
      const [on, off] = x.metrics === 'on' ? [x, y] : [y, x];
      return on.result.stages[0]!.delivered / Math.max(1, off.result.stages[0]!.delivered);
    });
    lines.push(`  delivered on/off per round: ${perRound.map((r) => r.toFixed(3)).join(' ')}; median ${median(perRound).toFixed(3)}`);
  }

  let rampRuns: Run[] = [];
  if (ramp.length > 0) {
    const stages = ramp.map((r) => ({ rate: r, durationS: stepS }));
    rampRuns = [await runOnce('off', users, stages, scrape, true), await runOnce('on', users, stages, scrape, true)];
    const [off, on] = rampRuns as [Run, Run];
    lines.push(`ramp (p99 < ${P99_MAX_MS} ms, nothing lost): sustained on ${sustained(on)} msg/s, off ${sustained(off)} msg/s, ` +
      `ratio ${sustained(off) ? (sustained(on) / sustained(off)).toFixed(3) : 'n/a'}`);
    for (const r of rampRuns) {
      lines.push(`  ${r.metrics}: ${r.result.stages.map((s) => `${s.rate}/s p99 ${s.latency.p99_ms.toFixed(1)}ms${s.lost ? ` lost ${s.lost}` : ''}`).join(' | ')}`);
    }
  }
  lines.push(`load average at end ${loadavg()[0]!.toFixed(2)} (2 cores; other benchmarks may share the machine)`);
  console.log(lines.join('\n'));
  if (values.json) writeFileSync(values.json, JSON.stringify({ users, rate, seconds, rounds, ramp, stepS, scrape, fixed, rampRuns, loadavg: [load0, loadavg()[0]] }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
