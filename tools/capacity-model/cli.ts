// `make capacity`: recompute the seed's estimates, list what they leave out,
// and project the fleet from measured results. Reads a fleet model and runs in
// results/; prints a table and writes capacity.md, capacity.json and usl.svg.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { FLEET_MODEL_PARAMETERS, FLEET_PARAMETER_NAMES } from './fleet-model';
import { REPO_ROOT } from '../../server/common/paths';
import { newestRunDir, readResults } from './adapters';
import { readUslPoints } from './adapters/usl-points';
import { emptyMeasurements, MEASURED_FIELD_NAMES, MEASURED_FIELDS, mergeMeasurements, parseAssumptions, type Measurements } from './measured';
import { applyOverrides, loadFleetModel } from './model';
import { hardwareProfile, PROFILE_NAMES, withProfile } from './hardware';
import { renderHtml, CAPACITY_HTML } from './render/html';
import { renderJson } from './render/json';
import { renderMarkdown } from './render/markdown';
import { renderUslSvg } from './render/svg';
import { renderTerminal } from './render/terminal';
import { buildReport } from './report';

const HELP = `usage: node dist/tools/capacity-model/cli.js [options]

Recomputes the seed's capacity estimates beside its own figures, names what they
leave out (with numbers), projects the fleet (gateways, chat-service nodes,
ScyllaDB nodes, Redis, network) from measured per-node results, fits the
Universal Scalability Law to a ramp, and estimates how long a fleet needs to
re-accept the users of a lost gateway or zone and to serve a lost chat node's
partitions again.

options:
  --model <file>         fleet model: a compiled module exporting it (default export or
                         \`fleetModel\`, e.g. dist/tools/capacity-model/fleet-model.js) or a JSON object
                         of overrides. Default: the seed's figures + documented assumptions
                         (tools/capacity-model/fleet-model.ts).
  --profile <name>       a hardware profile for gateway/chat/store/Redis nodes: ${PROFILE_NAMES.join(', ')}
                         (cores, memory, NIC, disk, monthly prices; tools/capacity-model/hardware.ts);
                         applied before --set. Default: the model's own (measured: 2 cores)
  --set <name=value>     override one model parameter; repeatable (--list-parameters)
  --results <path>       a results/<run>/ directory or one results file; repeatable, merged
                         in order (a later source wins for the figures it has). Known files:
                         summary.json (make run / pair load; a breakpoint run), the
                         --json output of bench/full-vs-bare, capacity-probe.json, and the
                         --json output of bench/coordination (chat_coordination_ratio),
                         bench/failover (chat_failover_s_p50/_max), bench/reaccept
                         (reaccept_via_lb_ratio), bench/process-scaling (process_scaling_sigma/kappa),
                         bench/scylla-store (store_cpu_us_per_msg) and bench/media-http
                         (media_upload_bytes_per_core_s, media_download_bytes_per_core_s); in a run
                         directory as coordination.json, failover.json, reaccept.json,
                         process-scaling.json, scylla-store.json, media.json.
                         Default: the newest results/<run>/ that has a summary.json.
  --no-results           project with no measurements (every per-node figure "not measured")
  --usl-points <file>    throughput-vs-concurrency points for the USL fit:
                         [{"concurrency": N, "throughput_per_s": X}, ...]
                         (default: the ramp stages of the results, via Little's law)
  --assume <name=value>  a per-node figure nobody measured, labelled "assumed" wherever
                         it is used; repeatable. Names: ${MEASURED_FIELD_NAMES.join(', ')}
  --out <dir>            where to write capacity.md, capacity.json, usl.svg, capacity.html
                         (default results/<timestamp>-capacity)
  --list-parameters      print every model parameter with its unit, source and why
  --help                 this text

example:
  node dist/tools/capacity-model/cli.js --results results/<run> --set peak_to_average_ratio=3`;

function listParameters(): string {
  const lines = ['fleet model parameters (tools/capacity-model/fleet-model.ts):', ''];
  for (const name of FLEET_PARAMETER_NAMES) {
    const p = FLEET_MODEL_PARAMETERS[name];
    lines.push(`  ${name} = ${p.value} ${p.unit}  [${p.source}; ${p.min}..${p.max}]`, `      ${p.why}`);
  }
  lines.push('', 'measured per-node figures (from results/, or --assume):', '');
  for (const name of MEASURED_FIELD_NAMES) lines.push(`  ${name} (${MEASURED_FIELDS[name].unit}): ${MEASURED_FIELDS[name].what}`);
  return lines.join('\n');
}

export function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      profile: { type: 'string' },
      results: { type: 'string', multiple: true, default: [] },
      'no-results': { type: 'boolean', default: false },
      'usl-points': { type: 'string' },
      assume: { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
      'list-parameters': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values['list-parameters']) {
    console.log(listParameters());
    return 0;
  }
  const base = loadFleetModel(values.model);
  const model = applyOverrides(values.profile ? withProfile(base, hardwareProfile(values.profile)) : base, values.set!);
  const p99MsMax = model.delivery_latency_ms_max;

  let resultPaths = values.results!;
  if (resultPaths.length === 0 && !values['no-results']) {
    const newest = newestRunDir(join(REPO_ROOT, 'results'));
    if (newest) {
      console.log(`no --results given: using the newest run, ${relative(process.cwd(), newest) || newest}`);
      resultPaths = [newest];
    } else {
      console.log('no --results given and no run in results/: every per-node figure is "not measured"');
    }
  }
  const parts: Measurements[] = resultPaths.map((p) => readResults(p, p99MsMax));
  parts.push(parseAssumptions(values.assume!));
  const measured = parts.length > 0 ? mergeMeasurements(parts) : emptyMeasurements();
  if (values['usl-points']) measured.usl_points = readUslPoints(values['usl-points']);

  const report = buildReport(model, measured, new Date(), values.profile ?? null);
  const outDir = values.out ?? join(REPO_ROOT, 'results', `${report.generated_at.replace(/[:.]/g, '-')}-capacity`);
  mkdirSync(outDir, { recursive: true });
  let chart: string | null = null;
  if (report.usl.fit) {
    chart = 'usl.svg';
    writeFileSync(join(outDir, chart), renderUslSvg(report.usl.points, report.usl.fit));
  }
  writeFileSync(join(outDir, 'capacity.md'), renderMarkdown(report, chart));
  writeFileSync(join(outDir, 'capacity.json'), renderJson(report));
  writeFileSync(join(outDir, CAPACITY_HTML), renderHtml(report));
  console.log(renderTerminal(report));
  console.log(`\nwritten: ${[join(outDir, 'capacity.md'), join(outDir, 'capacity.json'), ...(chart ? [join(outDir, chart)] : []), join(outDir, CAPACITY_HTML)].join(', ')}`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error(`capacity: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
