// loadgen: the k6-style load generator's command line.
//
//   loadgen run <scenario> [flags]      loadgen run --help lists every flag
//   loadgen merge <run dir>... [flags]
//   loadgen compare <run A> <run B> [flags]
//   loadgen list
//
// Each command's flags live in one table (./command-specs.ts) that makes both
// its parser and its --help (./flags.ts). <scenario> is `scenarios/<name>.ts`,
// `<name>`, or a path to a compiled scenario module; TypeScript paths map to
// their build under dist/. Without --target the real system is started here
// (chat service + gateways on loopback, embedded store) and stopped at the
// end; --topology GxM starts the multi-node topology instead (deploy/topology.ts)
// and every client connects through HAProxy; --store cassandra puts its chat
// nodes on a local 3-node Cassandra cluster (RF=3, LOCAL_QUORUM) that the
// topology starts and wipes, or on the one in --cassandra-cluster DIR. With --target the generator
// loads a running system anywhere (ws:// or wss://); the users' tokens come
// from a token provider (loadgen/identity/token-provider.ts). --procs N
// splits the run over N processes here and merges their results.
//
// SIGINT and SIGTERM stop a run gracefully (the partial summary is written,
// exit 105); a second one exits at once.
//
// Exit codes (k6's): 0 ok, 99 thresholds failed (or abortOnFail stopped the
// run), 104 invalid scenario or options, 105 interrupted, 1 anything else.
import { redactArgv, redactingOutput, scrub, secretsOf } from '../outputs/redact';
import { checkRunFlags, parseLocalAddresses, type RunFlagValues } from './run-flags';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
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
import { parseRemoteWriteUrl, remoteWriteOutput } from '../outputs/remote-write';
import type { Output } from '../engine/output';
import { runLocalShards, READY_LINE } from './local-shards';
import { listScenarioNames, loadScenario } from './scenario-files';
import { ConfigError, EXIT_EXTERNALLY_ABORTED, EXIT_INVALID_CONFIG, UsageError } from './errors';
import { COMMANDS, COMPARE_COMMAND, GENERAL_USAGE, LIST_COMMAND, MERGE_COMMAND, RUN_COMMAND } from './command-specs';
import { compareRuns } from '../engine/compare';
import { renderCompareText } from '../outputs/compare-text';
import { writeCompareHtml, COMPARE_HTML } from '../outputs/compare-html';
import { EXIT_THRESHOLDS_FAILED } from '../model/thresholds';
import { helpText, parseCommand, synopsisOf, type ParsedFlags } from './flags';
import { RunInterrupted } from '../engine/run';
import { runTargetOf } from './run-target';
import { installStopSignals } from './stop-signals';

const CONNECTIONS_PER_SOURCE_ADDRESS = 25_000;
const USAGE = GENERAL_USAGE;

/** A string flag's value (parseArgs typed it by the table). */
function str(values: ParsedFlags['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}


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
  const parsed = parseCommand(RUN_COMMAND, argv);
  if (parsed.values.help) return printHelp(RUN_COMMAND);
  const { positionals } = parsed;
  const values = {
    ...Object.fromEntries(Object.entries(parsed.values).filter(([, v]) => typeof v === 'string')) as Record<string, string | undefined>,
    quiet: parsed.values.quiet === true, 'start-on-stdin': parsed.values['start-on-stdin'] === true,
  } as Record<string, string | undefined> & { quiet: boolean; 'start-on-stdin': boolean };
  if (positionals.length !== 1) throw new UsageError('run needs exactly one scenario', helpText(RUN_COMMAND));
  // Every flag value checked before anything is loaded or started (run-flags.ts).
  const flags = checkRunFlags(values as RunFlagValues);
  let remoteWrite: URL | undefined;
  try {
    remoteWrite = values['remote-write'] === undefined ? undefined : parseRemoteWriteUrl(values['remote-write']);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { driver, transport, scale, durationMs, users, e2ee, shard, procs } = flags;
  if (values.store !== undefined && values.store !== 'sqlite' && values.store !== 'cassandra') {
    throw new UsageError(`--store must be sqlite or cassandra; got ${JSON.stringify(values.store.slice(0, 40))}`);
  }
  // A scenario whose faults depend on the store (zone-loss adds a Cassandra node) reads --store from here as it loads.
  if (values.store !== undefined) process.env.WA_LOADGEN_STORE = values.store;
  const { scenario, file } = loadScenario(positionals[0]!);
  // Validate the scenario before anything starts (k6 does the same).
  let plan;
  try {
    plan = planRun(scenario, { scale, durationMs, users, e2ee, topology: values.topology, store: values.store });
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
  const { targetUrls, tokens, tls, warnings } = runTargetOf(parsed.values, driver, { envSecret: process.env.WA_TOKEN_SECRET, sharded: shard.count > 1 || values.procs !== '1', log: (l) => process.stderr.write(`${l}\n`) });
  for (const w of warnings) process.stderr.write(`${w}\n`);
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
  // Before the summary outputs: its end() adds any drop count to the summary's warnings.
  if (remoteWrite) outputs.push(remoteWriteOutput(remoteWrite, log));
  // The token secret never reaches a file (loadgen/outputs/redact.ts).
  const secrets = secretsOf(values.secret, process.env.WA_TOKEN_SECRET);
  outputs.push(...[summaryJsonOutput, junitOutput, reportHtmlOutput, summaryTextOutput].map((o) => redactingOutput(o, secrets)));
  log(`loadgen: ${scenario.name} -> ${outDir}`);
  if (procs > 1) {
    if (shard.count > 1) throw new UsageError('--procs and --shard do not combine: --procs N runs shards 1..N itself');
    const passThrough: string[] = [];
    for (const k of ['duration', 'scale', 'users', 'e2ee', 'transport', 'driver', 'interval', 'token-file', 'ca-file', 'remote-write'] as const) {
      if (values[k] !== undefined) passThrough.push(`--${k}`, String(values[k]));
    }
    if (parsed.values['insecure-skip-tls-verify'] === true) passThrough.push('--insecure-skip-tls-verify');
    const stop = installStopSignals(log);
    const merged = await runLocalShards({ stop: stop.signal,
      scenario, scenarioArg: positionals[0]!, plan, procs, outDir, runId, passThrough, targetUrls,
      secret: values.secret ?? process.env.WA_TOKEN_SECRET, chatTarget: values['chat-target'], log, topology,
      store: topology && plan.store ? { name: plan.store, cassandraClusterDir } : undefined,
      childMetrics: values['metrics-port'] !== 'off', intervalMs: flags.intervalMs,
    });
    stop.remove();
    for (const out of outputs) if (out.name !== 'metrics-endpoint' && out.name !== 'progress') await out.end?.(merged, outDir);
    for (const out of outputs) await out.close?.();
    if (values['summary-export']) exportSummary(values['summary-export'], join(outDir, 'summary.json'), log);
    log(`results: ${relative(process.cwd(), outDir) || '.'}/{summary.json,summary.txt,junit.xml,report.html} (shards in shard-<i>/)`);
    return merged.exit_code;
  }
  const stop = installStopSignals(log);
  let summary;
  try {
    summary = await runScenario({
    scenario, scenarioFile: file, targetUrls, driver, tokens, tls, stop: stop.signal,
    secret: values.secret ?? process.env.WA_TOKEN_SECRET,
    chatTarget: values['chat-target'],
    scale, durationMs, users, e2ee, topology, store: values.store, cassandraClusterDir, shard, workers, outDir, runId, transport, localAddresses,
    startAtEpochMs: flags.startAtEpochMs, userBase: flags.userBase, intervalMs: flags.intervalMs,
    command: ['loadgen', 'run', ...redactArgv(argv)].join(' '),
    outputs, log,
    waitForStart: values['start-on-stdin'] ? startFromStdin : undefined,
    });
  } catch (err) {
    if (!(err instanceof RunInterrupted)) throw err;
    log(`loadgen: ${err.message}; no summary`);
    return EXIT_EXTERNALLY_ABORTED;
  } finally {
    stop.remove();
  }
  if (values['summary-export']) exportSummary(values['summary-export'], join(outDir, 'summary.json'), log);
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
  const { values: v, positionals } = parseCommand(MERGE_COMMAND, argv);
  if (v.help) return printHelp(MERGE_COMMAND);
  const values = { out: str(v, 'out'), quiet: v.quiet === true };
  if (positionals.length === 0) throw new UsageError('merge needs run directories (each with a summary.json)', helpText(MERGE_COMMAND));
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

async function cmdCompare(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand(COMPARE_COMMAND, argv);
  if (v.help) return printHelp(COMPARE_COMMAND);
  if (positionals.length !== 2) throw new UsageError('compare needs two run directories (or summary.json files): A, the reference, then B', helpText(COMPARE_COMMAND));
  const [a, b] = positionals.map(readSummary) as [ReturnType<typeof readSummary>, ReturnType<typeof readSummary>];
  const comparison = compareRuns(a, b);
  const safeId = (id: string) => id.replace(/[^\w.-]/g, '_').slice(0, 80);
  const outDir = resolve(str(v, 'out') ?? join(REPO_ROOT, 'results', `compare-${safeId(a.run_id)}-vs-${safeId(b.run_id)}`));
  mkdirSync(outDir, { recursive: true });
  const text = renderCompareText(comparison);
  writeFileSync(join(outDir, 'compare.txt'), text + '\n');
  writeFileSync(join(outDir, 'compare.json'), JSON.stringify(comparison, null, 2) + '\n');
  writeCompareHtml(a, b, comparison, outDir);
  if (v.quiet !== true) process.stdout.write(text + '\n');
  process.stderr.write(`compare -> ${relative(process.cwd(), outDir) || '.'}/{compare.txt,compare.json,${COMPARE_HTML}}\n`);
  return v['fail-on-worse'] === true && comparison.regressed.length > 0 ? EXIT_THRESHOLDS_FAILED : 0;
}

function printHelp(cmd: (typeof COMMANDS)[number]): number {
  process.stdout.write(helpText(cmd) + '\n');
  return 0;
}

/** --summary-export: a copy of summary.json where the user asked (k6's flag; its content is our summary, redacted like the file). */
function exportSummary(path: string, summaryJson: string, log: (line: string) => void): void {
  const to = resolve(path);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(summaryJson, to);
  log(`summary exported to ${to}`);
}

function cmdList(argv: string[]): number {
  const { values, positionals } = parseCommand(LIST_COMMAND, argv);
  if (values.help) return printHelp(LIST_COMMAND);
  if (positionals.length > 0) throw new UsageError(`list takes no arguments (got ${positionals[0]})`, helpText(LIST_COMMAND));
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
      case 'compare': return await cmdCompare(rest);
      case 'list': return cmdList(rest);
      case 'help': {
        const about = COMMANDS.find((c) => c.name === rest[0]);
        if (about) return printHelp(about);
        if (rest[0] !== undefined) throw new UsageError(`no command ${rest[0]}`);
        process.stdout.write(USAGE + '\n');
        return 0;
      }
      case '-h': case '--help':
        process.stdout.write(USAGE + '\n');
        return 0;
      case undefined:
        throw new UsageError('a command is needed');
      default:
        throw new UsageError(`unknown command ${cmd}`);
    }
  } catch (err) {
    const e = err as Error;
    if (e instanceof UsageError) {
      const spec = COMMANDS.find((c) => c.name === cmd);
      process.stderr.write(`loadgen: ${e.message}\n\n${e.usage ?? (spec ? helpText(spec) : USAGE)}\n`);
      return EXIT_INVALID_CONFIG;
    }
    if (e instanceof ConfigError) {
      const spec = COMMANDS.find((c) => c.name === cmd);
      process.stderr.write(`loadgen: invalid configuration: ${e.message}\n` +
        (spec ? `\n${synopsisOf(spec)}   (loadgen ${spec.name} --help lists every flag)\n` : ''));
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
