// Profile the server under a scenario: `make profile SCENARIO=<name>`.
//
//   profile <scenario> [--tools doctor,flame] [--process chat|gateway|both] [--duration 10s] [--out results/<run-id>]
//
// For each clinic tool (https://clinicjs.org: doctor = event loop, GC, CPU and
// handles over time with a diagnosis; flame = where the CPU time goes), the
// system is started with the profiled process(es) wrapped in
// `clinic <tool> --dest <dir> --`, the scenario runs against it like any
// `loadgen run --target`, and the system is stopped with SIGINT (Ctrl-C, what
// clinic waits for) so clinic writes its report. Results:
//   results/<run-id>/profile/<tool>/<pid>.clinic-<tool>.html   the report (open in a browser)
//   results/<run-id>/<tool>/{summary.json,summary.txt,junit.xml} the scenario's run under that tool
//   results/<run-id>/profile.json                             what was profiled and where the reports are
// clinic asks about usage statistics on a TTY and hangs (or silently writes
// nothing) without one: NO_INSIGHT=1 is always set. Profiling slows the
// profiled process (doctor samples, flame runs V8's --prof): figures from a
// profiled run are not capacity figures.
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../server/common/paths';
import { startSystem, type RunningSystem } from '../../deploy/local-system';
import { loadScenario } from '../../loadgen/commands/scenario-files';
import { parseDurationMs } from '../../loadgen/model/duration';
import { runScenario } from '../../loadgen/engine/run';
import { junitOutput } from '../../loadgen/outputs/junit';
import { summaryJsonOutput } from '../../loadgen/outputs/summary-json';
import { summaryTextOutput } from '../../loadgen/outputs/summary-text';

const TOOLS = ['doctor', 'flame'] as const;
type Tool = (typeof TOOLS)[number];
const PROCESSES = ['chat', 'gateway', 'both'] as const;
type Which = (typeof PROCESSES)[number];
/** clinic adds a few seconds to a process start (its preloads, 0x's --prof). */
const START_TIMEOUT_MS = 60_000;
/** flame's analysis of a few seconds of --prof log takes ~10-30 s on 2 cores. */
const STOP_TIMEOUT_MS = 180_000;

class UsageError extends Error {}

export interface ProfileReport {
  tool: Tool;
  process: string;
  html: string;
  bytes: number;
}

function clinicBin(): string {
  try {
    return require.resolve('clinic/bin.js');
  } catch {
    throw new Error('clinic is not installed: npm install (it is a devDependency)');
  }
}

async function profileWith(tool: Tool, which: Which, scenarioArg: string, durationMs: number | undefined, outDir: string, log: (l: string) => void): Promise<ProfileReport[]> {
  const { scenario, file } = loadScenario(scenarioArg);
  const dest = join(outDir, 'profile', tool);
  mkdirSync(dest, { recursive: true });
  const argv = [process.execPath, clinicBin(), tool, '--open=false', '--dest', dest, '--'];
  // Each wrapped process in its own working directory: flame (0x) writes its V8 logs there and, when
  // done, deletes every V8 log it finds there, another profiled process's included.
  const wrapOf = (name: string) => {
    const cwd = join(dest, `.work-${name}`);
    mkdirSync(cwd, { recursive: true });
    return { argv, cwd };
  };
  log(`profile: ${tool} on ${which === 'both' ? 'chat service and gateway' : which} while ${file} runs ...`);
  let system: RunningSystem | null = null;
  let outputs: Record<string, string[]> = {};
  try {
    system = await startSystem({
      gateways: 1,
      env: { ...scenario.system?.env, NO_INSIGHT: '1' },
      wrap: { chat: which !== 'gateway' ? wrapOf('chat') : undefined, gateway: which !== 'chat' ? wrapOf('gateway') : undefined },
      startTimeoutMs: START_TIMEOUT_MS, stopTimeoutMs: STOP_TIMEOUT_MS,
    });
    const runDir = join(outDir, tool);
    const summary = await runScenario({
      scenario, scenarioFile: file, driver: 'system',
      targetUrls: system.gatewayPorts.map((p) => `ws://127.0.0.1:${p}/v1/ws`), secret: system.secret, chatTarget: system.chatTarget,
      durationMs, shard: { index: 0, count: 1 }, workers: 1, outDir: runDir, runId: `${tool}`, transport: 'lean', localAddresses: [],
      command: `profile ${scenarioArg} (${tool})`, outputs: [summaryJsonOutput, junitOutput, summaryTextOutput], log: () => {},
    });
    log(`profile: ${tool}: scenario done (exit code ${summary.exit_code}); stopping the system so clinic writes its report ...`);
  } finally {
    if (system) outputs = await system.stop();
    for (const name of ['chat', 'gateway']) rmSync(join(dest, `.work-${name}`), { recursive: true, force: true });
  }
  // clinic prints "Generated HTML file is file://..." when done: that line says which process each report is of.
  const reports: ProfileReport[] = [];
  const missing: string[] = [];
  for (const [name, lines] of Object.entries(outputs)) {
    const wrapped = name === 'chat' ? which !== 'gateway' : which !== 'chat';
    if (!wrapped) continue;
    const m = lines.map((l) => /Generated HTML file is (file:\/\/\S+)/.exec(l)).find(Boolean);
    if (m) {
      const html = fileURLToPath(m[1]!);
      reports.push({ tool, process: name, html, bytes: statSync(html).size });
    } else missing.push(`[${name}] ${lines.slice(-10).join(`\n[${name}] `)}`);
  }
  if (missing.length > 0) {
    throw new Error(`clinic ${tool} wrote no report for some processes (in ${relative(process.cwd(), dest)}); their last output:\n${missing.join('\n')}`);
  }
  return reports;
}

export async function main(argv: string[]): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const { values, positionals } = parseArgs({
      args: argv, allowPositionals: true,
      options: {
        tools: { type: 'string', default: TOOLS.join(',') },
        process: { type: 'string', default: 'chat' },
        duration: { type: 'string' },
        out: { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('usage: profile <scenario> [--tools doctor,flame] [--process chat|gateway|both] [--duration 10s] [--out dir]');
    const tools = values.tools!.split(',').map((t) => t.trim()) as Tool[];
    for (const t of tools) if (!TOOLS.includes(t)) throw new UsageError(`--tools: unknown tool ${t} (known: ${TOOLS.join(', ')})`);
    const which = values.process as Which;
    if (!PROCESSES.includes(which)) throw new UsageError(`--process must be one of ${PROCESSES.join(', ')}`);
    const durationMs = values.duration === undefined ? undefined : parseDurationMs(values.duration, '--duration');
    const { scenario } = loadScenario(positionals[0]!);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '');
    const outDir = resolve(values.out ?? join(REPO_ROOT, 'results', `${stamp}-${scenario.name}-profile`));
    mkdirSync(outDir, { recursive: true });
    const reports: ProfileReport[] = [];
    for (const tool of tools) reports.push(...(await profileWith(tool, which, positionals[0]!, durationMs, outDir, log)));
    writeFileSync(join(outDir, 'profile.json'), JSON.stringify({
      scenario: scenario.name, process: which, created_at: new Date().toISOString(),
      reports: reports.map((r) => ({ ...r, html: relative(outDir, r.html) })),
    }, null, 1) + '\n');
    for (const r of reports) process.stdout.write(`${r.tool} (${r.process}): ${relative(process.cwd(), r.html)} (${Math.round(r.bytes / 1024)} KiB)\n`);
    log(`results: ${relative(process.cwd(), outDir)}/{profile.json,profile/<tool>/*.html,<tool>/summary.json}`);
    return 0;
  } catch (err) {
    log(`profile: ${(err as Error).message}`);
    return err instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    process.stderr.write(`profile: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
