// loadgen: the k6-style load generator's command line.
//
//   loadgen run <scenario> [--target ws://...[,ws://...]] [--duration 30s] [--scale 1] [--users N]
//               [--shard i/N] [--workers N] [--out results/<run-id>] [--driver system|bare]
//               [--secret S] [--chat-target host:port] [--transport lean|ws]
//               [--metrics-port 0|off] [--local-addresses 127.0.0.1-127.0.0.8]
//               [--start-at <epoch ms|ISO>] [--user-base N] [--run-id ID] [--procs N] [--topology GxM]
//               [--store sqlite|cassandra] [--cassandra-cluster DIR] [--quiet]
//   loadgen merge <run dir> <run dir> ... [--out results/<run-id>]
//   loadgen list
//
// <scenario> is `scenarios/<name>.ts`, `<name>`, or a path to a compiled
// scenario module; TypeScript paths map to their build under dist/.
// Without --target the real system is started here (chat service + gateways
// on loopback, embedded store) and stopped at the end; --topology GxM starts
// the multi-node topology instead (etcd, Redis, M chat nodes on one shared
// SQLite store, G gateways behind HAProxy: deploy/topology.ts) and every client
// connects through HAProxy; --store cassandra puts its chat nodes on a local
// 3-node Cassandra cluster (RF=3, LOCAL_QUORUM) that the topology starts and
// wipes, or on the one running in --cassandra-cluster DIR (left running); the
// scenario's `store` says the same. --procs N splits the
// run over N processes here (past ~20k connections: the open-files limit is
// per process) and merges their results.
//
// Exit codes (k6's): 0 ok, 99 thresholds failed (or abortOnFail stopped the
// run), 104 invalid scenario or options, 105 interrupted, 1 anything else.
import { redactArgv, redactingOutput, scrub, secretsOf } from '../outputs/redact';
import { checkRunFlags, parseLocalAddresses } from './run-flags';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HAPROXY_LIMITS } from '../../deploy/services/haproxy';
import { parseTopology, type TopologyShape } from '../../deploy/topology';
import { REPO_ROOT } from '../../server/common/paths';
import { WORKLOAD_NAMES } from '../model/scenario';
import { planRun, type RunPlan } from '../model/plan';
import { segmentsOf } from '../model/segments';
import { runScenario } from '../engine/run';
import { METRICS } from '../model/metric-catalog';
import { mergeSummaries, readSummary } from '../engine/merge';
import { progressOutput } from '../outputs/progress';
import { summaryTextOutput, renderSummaryText, SUMMARY_TXT } from '../outputs/summary-text';
import { summaryJsonOutput } from '../outputs/summary-json';
import { junitOutput } from '../outputs/junit';
import { metricsEndpointOutput } from '../outputs/metrics-endpoint';
import { reportHtmlOutput } from '../outputs/report-html';
import type { Output } from '../engine/output';
import { runLocalShards, READY_LINE } from './local-shards';
import { listScenarioNames, loadScenario } from './scenario-files';
import { ConfigError, EXIT_INVALID_CONFIG, UsageError } from './errors';

const CONNECTIONS_PER_SOURCE_ADDRESS = 25_000;

const USAGE = `usage:
  loadgen run <scenario> [--target ws://host:port/v1/ws[,...]] [--duration 30s] [--scale 1] [--shard i/N]
              [--users N] [--workers N] [--out results/<run-id>] [--driver system|bare] [--secret S] [--chat-target host:port]
              [--transport lean|ws] [--metrics-port 0|<port>|off] [--local-addresses 127.0.0.1-127.0.0.8]
              [--start-at <epoch ms|ISO time>] [--user-base N] [--run-id ID] [--procs N] [--topology GxM]
              [--store sqlite|cassandra] [--cassandra-cluster DIR] [--quiet]
  loadgen merge <run dir>... [--out results/<run-id>]
  loadgen list
<scenario>: scenarios/<name>.ts, <name>, or a compiled scenario module (.js).
--topology GxM: G gateways behind HAProxy, M chat nodes, etcd, Redis, started here (or the scenario's \`topology\`).
--store: the topology's shared store: sqlite (one file, default) or cassandra (a 3-node Cassandra 5 cluster,
  RF=3, LOCAL_QUORUM, started here and wiped at the end; its nodes are the fault target \`cassandra\` 0..2).
--cassandra-cluster DIR: with --store cassandra, reuse the cluster scripts/cassandra.sh cluster-start runs in DIR
  (WA_CASSANDRA_CLUSTER_DIR; started there if it is not running) and leave it running.`;

/** --topology GxM: the topology the run starts itself (so not with --target). */
function parseTopologyFlag(text: string | undefined, targetUrls: string[] | undefined): TopologyShape | undefined {
  if (text === undefined) return undefined;
  if (targetUrls) throw new UsageError('--topology starts the system here; it does not combine with --target');
  try {
    return parseTopology(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** --cassandra-cluster DIR: only with the Cassandra store; an absolute path after resolving (the script's cluster dir). */
function parseCassandraClusterFlag(dir: string | undefined, store: RunPlan['store']): string | undefined {
  if (dir === undefined) return undefined;
  if (store !== 'cassandra') throw new UsageError('--cassandra-cluster reuses a Cassandra cluster: it needs --store cassandra (and a topology)');
  if (!dir.trim() || dir.length > 4096) throw new UsageError('--cassandra-cluster: a directory path');
  return resolve(dir);
}

function timestampId(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '');
}

async function cmdRun(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      driver: { type: 'string', default: 'system' },
      secret: { type: 'string' },
      'chat-target': { type: 'string' },
      duration: { type: 'string' },
      scale: { type: 'string' },
      users: { type: 'string' },
      shard: { type: 'string', default: '1/1' },
      workers: { type: 'string' },
      out: { type: 'string' },
      'run-id': { type: 'string' },
      transport: { type: 'string', default: 'lean' },
      'metrics-port': { type: 'string', default: '0' },
      'local-addresses': { type: 'string' },
      'start-at': { type: 'string' },
      'user-base': { type: 'string' },
      interval: { type: 'string' },
      procs: { type: 'string', default: '1' },
      topology: { type: 'string' },
      store: { type: 'string' },
      'cassandra-cluster': { type: 'string' },
      'start-on-stdin': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('run needs exactly one scenario');
  // Every flag value checked before anything is loaded or started (run-flags.ts).
  const flags = checkRunFlags(values);
  const { driver, transport, scale, durationMs, users, shard, targetUrls, procs } = flags;
  if (values.store !== undefined && values.store !== 'sqlite' && values.store !== 'cassandra') {
    throw new UsageError(`--store must be sqlite or cassandra; got ${JSON.stringify(values.store.slice(0, 40))}`);
  }
  // A scenario whose faults depend on the store (zone-loss adds a Cassandra node) reads --store from here as it loads.
  if (values.store !== undefined) process.env.WA_LOADGEN_STORE = values.store;
  const { scenario, file } = loadScenario(positionals[0]!);
  // Validate the scenario before anything starts (k6 does the same).
  let plan;
  try {
    plan = planRun(scenario, { scale, durationMs, users, topology: values.topology, store: values.store });
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message}`);
  }
  refuseUnrunnableSystem(plan, file, { target: values.target !== undefined, sharded: values.shard !== '1/1' || values.procs !== '1' });
  const workers = flags.workers ?? Math.max(1, Math.min(availableParallelism(), Math.floor(plan.traffic.users / shard.count / (plan.traffic.contactsPerUser + 1))));
  try {
    segmentsOf(plan, shard.index, shard.count, workers);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  parseTopologyFlag(values.topology, targetUrls);
  // The scenario's `topology`, or --topology over it (the plan has both); none: the single-process system.
  const topology = targetUrls ? undefined : plan.topology ?? undefined;
  if (values.store !== undefined && targetUrls) throw new UsageError('--store chooses the store of the topology started here; it does not combine with --target');
  const cassandraClusterDir = parseCassandraClusterFlag(values['cassandra-cluster'], plan.store);
  const online = Math.ceil(plan.traffic.users * plan.traffic.onlineShare);
  if (topology && online > HAPROXY_LIMITS.conns_max) {
    throw new ConfigError(`--topology: ${online} connections exceed HAProxy's ${HAPROXY_LIMITS.conns_max} (deploy/services/haproxy.ts); use fewer --users`);
  }
  const shardUsers = Math.ceil(plan.traffic.users / shard.count);
  const localAddresses = flags.localAddresses ?? (shardUsers > CONNECTIONS_PER_SOURCE_ADDRESS
      ? parseLocalAddresses(`127.0.0.1-127.0.0.${Math.min(254, Math.ceil(shardUsers / CONNECTIONS_PER_SOURCE_ADDRESS))}`) : []);
  const runId = values['run-id'] ?? `${timestampId()}-${scenario.name}${shard.count > 1 ? `-shard${shard.index + 1}of${shard.count}` : ''}`;
  const outDir = resolve(values.out ?? join(REPO_ROOT, 'results', runId));
  mkdirSync(outDir, { recursive: true });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const outputs: Output[] = [];
  if (flags.metricsPort !== null) outputs.push(metricsEndpointOutput(flags.metricsPort, log));
  if (!values.quiet) outputs.push(progressOutput());
  // The token secret never reaches a file (loadgen/outputs/redact.ts).
  const secrets = secretsOf(values.secret, process.env.WA_TOKEN_SECRET);
  outputs.push(...[summaryJsonOutput, junitOutput, reportHtmlOutput, summaryTextOutput].map((o) => redactingOutput(o, secrets)));
  log(`loadgen: ${scenario.name} -> ${outDir}`);
  if (procs > 1) {
    if (shard.count > 1) throw new UsageError('--procs and --shard do not combine: --procs N runs shards 1..N itself');
    const passThrough: string[] = [];
    for (const k of ['duration', 'scale', 'users', 'transport', 'driver', 'interval'] as const) {
      if (values[k] !== undefined) passThrough.push(`--${k}`, String(values[k]));
    }
    const merged = await runLocalShards({
      scenario, scenarioArg: positionals[0]!, plan, procs, outDir, runId, passThrough, targetUrls,
      secret: values.secret ?? process.env.WA_TOKEN_SECRET, chatTarget: values['chat-target'], log, topology,
      store: topology && plan.store ? { name: plan.store, cassandraClusterDir } : undefined,
      childMetrics: values['metrics-port'] !== 'off',
    });
    for (const out of outputs) if (out.name !== 'metrics-endpoint' && out.name !== 'progress') await out.end?.(merged, outDir);
    for (const out of outputs) await out.close?.();
    log(`results: ${relative(process.cwd(), outDir) || '.'}/{summary.json,summary.txt,junit.xml,report.html} (shards in shard-<i>/)`);
    return merged.exit_code;
  }
  const summary = await runScenario({
    scenario, scenarioFile: file, targetUrls, driver,
    secret: values.secret ?? process.env.WA_TOKEN_SECRET,
    chatTarget: values['chat-target'],
    scale, durationMs, users, topology, store: values.store, cassandraClusterDir, shard, workers, outDir, runId, transport, localAddresses,
    startAtEpochMs: flags.startAtEpochMs, userBase: flags.userBase, intervalMs: flags.intervalMs,
    command: ['loadgen', 'run', ...redactArgv(argv)].join(' '),
    outputs, log,
    waitForStart: values['start-on-stdin'] ? startFromStdin : undefined,
  });
  log(`results: ${relative(process.cwd(), outDir) || '.'}/{summary.json,summary.txt,junit.xml,report.html}`);
  return summary.exit_code;
}

/** Faults act on processes this run started, from one generator process. */
function refuseUnrunnableSystem(plan: RunPlan, file: string, o: { target: boolean; sharded: boolean }): void {
  if (plan.faults.length > 0 && o.target) throw new ConfigError(`${file}: faults act on the processes loadgen starts; drop --target`);
  if (plan.faults.length > 0 && o.sharded) throw new ConfigError(`${file}: faults run in one load generator process; drop --shard / --procs`);
}

/** --start-on-stdin (a --procs parent drives this shard): say we are set up, then read "START <epoch ms>". */
function startFromStdin(): Promise<number> {
  process.stdout.write(`${READY_LINE}\n`);
  return new Promise((resolve, reject) => {
    let buf = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => {
      buf += d;
      const m = /START (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    process.stdin.on('end', () => reject(new Error('stdin closed before START')));
  });
}

async function cmdMerge(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: 'string' }, quiet: { type: 'boolean', default: false } } });
  if (positionals.length === 0) throw new UsageError('merge needs run directories (each with a summary.json)');
  const parts = positionals.map(readSummary);
  const runId = `${timestampId()}-${parts[0]!.scenario.name}-merged`;
  const outDir = resolve(values.out ?? join(REPO_ROOT, 'results', runId));
  mkdirSync(outDir, { recursive: true });
  const merged = scrub(mergeSummaries(parts, runId, ['loadgen', 'merge', ...redactArgv(argv)].join(' ')), secretsOf(process.env.WA_TOKEN_SECRET));
  for (const out of [summaryJsonOutput, junitOutput, reportHtmlOutput]) await out.end?.(merged, outDir);
  const text = renderSummaryText(merged);
  writeFileSync(join(outDir, SUMMARY_TXT), text + '\n');
  if (!values.quiet) process.stdout.write(text + '\n');
  process.stderr.write(`merged ${parts.length} run(s) -> ${relative(process.cwd(), outDir)}/{summary.json,report.html}\n`);
  return merged.exit_code;
}

function cmdList(): number {
  const lines: string[] = ['scenarios (scenarios/<name>.ts):'];
  for (const name of listScenarioNames()) {
    try {
      const { scenario } = loadScenario(name);
      const p = scenario.production;
      lines.push(`  ${name.padEnd(18)} ${scenario.description}`);
      lines.push(`  ${''.padEnd(18)} models ${p.messagesPerSecond.toLocaleString('en')} msg/s over ${p.users.toLocaleString('en')} users, ` +
        `scale factor ${scenario.scale.factor.toExponential(3)}; executors: ${Object.entries(scenario.options.scenarios).map(([n, e]) => `${n}=${e.executor}`).join(', ')}`);
    } catch (err) {
      if (!/exports no load scenario/.test((err as Error).message)) lines.push(`  ${name.padEnd(18)} (cannot load: ${(err as Error).message})`);
    }
  }
  lines.push('', 'executors: constant-arrival-rate, ramping-arrival-rate, constant-vus, ramping-vus, per-vu-iterations');
  lines.push(`workloads (exec): ${WORKLOAD_NAMES.join(', ')}`);
  lines.push('', 'metrics (thresholds: trend avg|min|med|max|p(N)|count; counter count|rate; rate rate; gauge value):');
  for (const [name, info] of Object.entries(METRICS)) lines.push(`  ${name.padEnd(28)} ${info.type.padEnd(8)} ${info.description}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run': return await cmdRun(rest);
      case 'merge': return await cmdMerge(rest);
      case 'list': return cmdList();
      case undefined: case 'help': case '-h': case '--help':
        process.stdout.write(USAGE + '\n');
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${cmd}`);
    }
  } catch (err) {
    const e = err as Error;
    if (e instanceof UsageError) {
      process.stderr.write(`loadgen: ${e.message}\n${USAGE}\n`);
      return EXIT_INVALID_CONFIG;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`loadgen: invalid configuration: ${e.message}\n`);
      return EXIT_INVALID_CONFIG;
    }
    process.stderr.write(`loadgen: ${e.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`loadgen: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
