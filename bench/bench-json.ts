// `--json <file>` for the multi-node benches: wraps a bench's figures in the
// versioned envelope the capacity model reads (tools/capacity-model/bench-run.ts):
// kind, command line, the machine's cores and load average, a timestamp.
import { writeFileSync } from 'node:fs';
import { availableParallelism, hostname, loadavg } from 'node:os';
import { relative } from 'node:path';
import { asBenchRun, BENCH_RUN_VERSION, type BenchRun } from '../tools/capacity-model/bench-run';

type Figures<K extends BenchRun['kind']> = Extract<BenchRun, { kind: K }>['figures'];

/** The `--json` value in argv (and argv without it), so each bench's own flag parser never sees it. */
export function takeJsonFlag(argv: string[]): { json: string | null; rest: string[] } {
  const i = argv.indexOf('--json');
  if (i < 0) return { json: null, rest: argv };
  const file = argv[i + 1];
  if (!file || file.startsWith('--')) throw new Error('--json needs a file name');
  return { json: file, rest: [...argv.slice(0, i), ...argv.slice(i + 2)] };
}

export function writeBenchJson<K extends BenchRun['kind']>(file: string, kind: K, figures: Figures<K>): void {
  const [one, five, fifteen] = loadavg();
  const run = {
    kind,
    version: BENCH_RUN_VERSION,
    command: ['node', relative(process.cwd(), process.argv[1] ?? '') || process.argv[1], ...process.argv.slice(2)].join(' '),
    machine: { hostname: hostname(), cpus: availableParallelism(), node: process.version, load_avg: [one!, five!, fifteen!] },
    generated_at: new Date().toISOString(),
    figures,
  };
  asBenchRun(run, file); // what the capacity model would refuse is refused here, before it is written
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
  console.log(`written: ${file}`);
}
