// Full-path 1:1 messages/s at p99 < 100 ms on the ScyllaDB store (on the local
// Apache Cassandra 5 node) against the embedded SQLite store, measured side by
// side in one run, as a ratio. Same users, same open-model ramp, same lean
// client and payload as bench/full-vs-bare.ts; only the chat service's store
// differs. CPU per delivered message is read from /proc for the gateway, the
// chat service and (scylla) the Cassandra JVM.
//
//   node dist/bench/store-full-path.js [--users 200] [--step-seconds 4] [--rates 500,1000,...]
//        [--contact-point 127.0.0.1:9042] [--consistency LOCAL_QUORUM] [--order embedded,scylla] [--warm-seconds 20] [--json out.json]
// Without --contact-point it starts (and afterwards stops) its own node in
// ~/.cache/wa-scale/cassandra/bench-<time> on free ports, deleted afterwards.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSystem } from '../deploy/local-system';
import { SystemDriver } from '../loadgen/drivers/system-driver';
import { runPairLoad } from '../loadgen/engine/pair-load';
import { cpuMeter, P99_MAX_MS, rampReport, sustainedRate, type RampRun } from './ramp-report';
import { startLocalNode, stopLocalNode, wipeLocalNode, type LocalNode } from '../deploy/cassandra-node';



async function measure(
  target: string, env: Record<string, string>, extraPids: Record<string, number>, users: number, rates: number[], stepS: number, warmSeconds: number,
): Promise<RampRun> {
  const sys = await startSystem({ env: { WA_CHAT_METRICS_PORT: '0', ...env }, startTimeoutMs: 60_000 });
  try {
    // Cold start first, unmeasured and the same for both stores: every user connects, every chat gets its
    // first messages (on a networked store the engine's cold paths cost a round trip each, see 005).
    const driver = new SystemDriver({ url: sys.gatewayUrl, secret: sys.secret, transport: 'lean' });
    // Then a warm phase, also unmeasured: a fresh Cassandra JVM spends its first minute compiling (JIT).
    for (const [phase, rate, durationS] of [['cold start', Math.max(100, users), 4], ['warm-up', 500, warmSeconds]] as const) {
      if (durationS <= 0) continue;
      const r = await runPairLoad(driver, { users, stages: [{ rate, durationS }], graceMs: 20_000 });
      const st = r.stages[0]!;
      console.log(`  ${target}: ${phase} at ${rate}/s for ${durationS} s: ${st.delivered}/${st.scheduled} delivered, ` +
        `p50 ${st.latency.p50_ms.toFixed(0)} ms, p99 ${st.latency.p99_ms.toFixed(0)} ms (not measured)`);
    }
    const pids: Record<string, number> = { gateway: sys.gateways[0]!.child.pid!, chat: sys.chat.child.pid!, ...extraPids };
    const cpuSince = cpuMeter(pids);
    const loadavgBefore = loadavg();
    const result = await runPairLoad(driver, {
      users,
      warmup: { rate: Math.min(500, rates[0]!), durationS: 5 },
      stages: rates.map((rate) => ({ rate, durationS: stepS })),
      stopWhenP99AboveMs: P99_MAX_MS,
      graceMs: 3000,
      progress: (line) => process.stdout.write(`\r  ${target}: ${line}      `),
    });
    process.stdout.write('\n');
    const cpuSeconds = { ...cpuSince(), loadgen: result.loadgenCpuUs / 1e6 };
    return { target, result, sustainedRate: sustainedRate(result), cpuSeconds, loadavgBefore, loadavgAfter: loadavg() };
  } finally {
    await sys.stop();
  }
}


async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '200' },
      'step-seconds': { type: 'string', default: '4' },
      rates: { type: 'string', default: '500,1000,2000,3000,4000,6000,8000,12000,16000,24000,32000,48000,64000' },
      'contact-point': { type: 'string' },
      consistency: { type: 'string', default: 'LOCAL_QUORUM' },
      order: { type: 'string', default: 'embedded,scylla' },
      'warm-seconds': { type: 'string', default: '20' },
      json: { type: 'string' },
    },
  });
  const users = Number(values.users);
  const stepS = Number(values['step-seconds']);
  const warmSeconds = Number(values['warm-seconds']);
  const rates = values.rates!.split(',').map(Number);
  if (!Number.isInteger(users) || users < 2 || users % 2 || !rates.every((r) => r > 0)) throw new Error('bad --users/--rates');
  let node: LocalNode | null = null;
  let contactPoint = values['contact-point'];
  try {
    if (!contactPoint) {
      node = await startLocalNode({ name: `bench-${Date.now().toString(36)}`, wipeIfStartFails: true });
      contactPoint = node.contactPoint;
    }
    const cassandraPid = node ? Number(readFileSync(join(node.dataDir, 'cassandra.pid'), 'utf8')) : 0;
    console.log(`full path, ScyllaDB store (Cassandra 5 on ${contactPoint}) vs embedded store: ${users} users in pairs, ` +
      `steps of ${stepS}s at ${rates.join(', ')} msg/s; ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const runs: Record<string, RampRun> = {};
    for (const target of values.order!.split(',')) {
      if (target === 'embedded') {
        runs.embedded = await measure('embedded', { WA_STORE: 'embedded' }, {}, users, rates, stepS, warmSeconds);
      } else if (target === 'scylla') {
        runs.scylla = await measure('scylla', {
          WA_STORE: 'scylla', WA_SCYLLA_CONTACT_POINTS: contactPoint, WA_SCYLLA_KEYSPACE: `wa_fullpath_${Date.now().toString(36)}`,
          WA_SCYLLA_MIGRATE: '1', WA_SCYLLA_CONSISTENCY: values.consistency!,
        }, cassandraPid ? { cassandra: cassandraPid } : {}, users, rates, stepS, warmSeconds);
      } else {
        throw new Error(`--order: unknown target ${target}`);
      }
    }
    console.log('');
    for (const run of Object.values(runs)) for (const line of rampReport(run)) console.log(line);
    const ratio = runs.embedded?.sustainedRate && runs.scylla ? runs.scylla.sustainedRate / runs.embedded.sustainedRate : 0;
    console.log(`\nratio scylla/embedded at p99 < ${P99_MAX_MS} ms: ${ratio.toFixed(3)}`);
    if (values.json) writeFileSync(values.json, JSON.stringify({ users, stepS, rates, contactPoint, runs, ratio }, null, 2));
  } finally {
    if (node) {
      await stopLocalNode(node);
      await wipeLocalNode({ dataDir: node.dataDir });
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
