// Adapter (e): the `--json` files of the multi-node benches (format and
// validation: ../bench-run.ts). Each gives the figures the fleet projection
// cannot get from a single-node run:
//   coordination -> chat_coordination_ratio (chat tier, 1 node / N nodes)
//   failover     -> chat_failover_s_p50, chat_failover_s_max
//   reaccept     -> reaccept_via_lb_ratio
//   process-scaling -> process_scaling_sigma, process_scaling_kappa (USL over processes of one box)
//   peers        -> no fleet figure (a comparison with Mosquitto and JetStream), a note only
//   media        -> media_upload_bytes_per_core_s, media_download_bytes_per_core_s
//   e2ee         -> e2e_overhead_bytes_per_message, store_prekey_takes_per_s (with --cassandra)
// The bench's machine is quoted in the note, not taken as the node's machine:
// these are ratios and times on one shared box, not a node's capacity.
import { asBenchRun, type BenchMachine, type BenchRun } from '../bench-run';
import { emptyMeasurements, type Measurements } from '../measured';

function onBox(m: BenchMachine, generatedAt: string): string {
  return `${m.cpus} cores, load average ${m.load_avg ? m.load_avg[0].toFixed(1) : '?'}, ${generatedAt}`;
}

function coordination(run: Extract<BenchRun, { kind: 'coordination' }>, source: string, out: Measurements): void {
  const f = run.figures;
  out.figures.chat_coordination_ratio = {
    value: f.ratio_chat, basis: 'measured', source,
    note: `chat-node CPU per acknowledged message ${f.one_node.cpu_chat_us_per_msg.toFixed(0)} us on ${f.one_node.topology}, ` +
      `${f.n_nodes.cpu_chat_us_per_msg.toFixed(0)} us on ${f.n_nodes.topology} (${f.scenario} x${f.scale}, ${f.duration_s} s x ${f.rounds} rounds; ` +
      `every server process: ratio ${f.ratio_all.toFixed(2)}); generator and servers shared ${onBox(run.machine, run.generated_at)}`,
  };
}

function failover(run: Extract<BenchRun, { kind: 'failover' }>, source: string, out: Measurements): void {
  const f = run.figures;
  const over = `${f.kills} kill(s) of one of ${f.chat_nodes} chat nodes, lease ${f.lease_s} s, ${f.probes} probes; ${onBox(run.machine, run.generated_at)}`;
  out.figures.chat_failover_s_p50 = { value: f.served_again_ms_p50 / 1000, basis: 'measured', source, note: `median over ${over}` };
  out.figures.chat_failover_s_max = {
    value: f.served_again_ms_max / 1000, basis: 'measured', source,
    note: `slowest of ${over}; probe gap (kill -> first ack on a moved chat) max ${(f.probe_gap_ms_max / 1000).toFixed(2)} s`,
  };
  if (f.kills < 5) out.notes.push(`${source}: failover over ${f.kills} kill(s); issue 13 asks for >= 5 before quoting p50 and max`);
}

function reaccept(run: Extract<BenchRun, { kind: 'reaccept' }>, source: string, out: Measurements): void {
  const f = run.figures;
  out.figures.reaccept_via_lb_ratio = {
    value: f.ratio_haproxy_direct, basis: 'measured', source,
    note: `HAProxy ${Math.round(f.haproxy.conns_per_s)} conn/s vs straight ${Math.round(f.direct.conns_per_s)} conn/s to ${f.gateways} gateways ` +
      `(${f.connections} connections, ${f.in_flight} in flight; failed ${f.haproxy.failed} / ${f.direct.failed}); HAProxy, gateways and clients shared ${onBox(run.machine, run.generated_at)}`,
  };
}

function processScaling(run: Extract<BenchRun, { kind: 'process-scaling' }>, source: string, out: Measurements): void {
  const f = run.figures;
  const costs = f.sides.map((s) => `${s.processes}: ${s.cpu_tier_us_per_msg.toFixed(0)} us`).join(', ');
  const note = `${f.tier} CPU per acknowledged message by process count (${costs}; ${f.scenario} x${f.scale}, ${f.duration_s} s x ${f.rounds} rounds, ` +
    `first ${f.warmup_s} s not counted); the generator and every server shared ${onBox(run.machine, run.generated_at)}` +
    `; fitted on ${f.fitted_processes.join(', ')} process(es)` +
    (f.sides.some((s) => s.processes > run.machine.cpus)
      ? `; with the counts above the ${run.machine.cpus} cores (processes time-sharing cores, not used) sigma ${f.sigma_all.toPrecision(3)}, kappa ${f.kappa_all.toPrecision(3)}`
      : '') +
    '; CPU per message at a fixed load also spreads each process\'s fixed cost over fewer messages: an upper bound on contention';
  out.figures.process_scaling_sigma = { value: f.sigma, basis: 'measured', source, note };
  out.figures.process_scaling_kappa = { value: f.kappa, basis: 'measured', source, note };
}

function media(run: Extract<BenchRun, { kind: 'media' }>, source: string, out: Measurements): void {
  const f = run.figures;
  const over = `${f.store} blob store, ${(f.file_bytes / 1e6).toFixed(2)} MB files, one gateway; gateway, blob store and clients shared ` +
    `${onBox(run.machine, run.generated_at)}; end to end ${f.e2e_verified}/${f.e2e_sent} verified, p99 ${f.e2e_p99_ms} ms`;
  out.figures.media_upload_bytes_per_core_s = { value: f.upload_mb_per_gateway_cpu_s * 1e6, basis: 'measured', source, note: `upload ${f.upload_mb_per_s.toFixed(1)} MB/s; ${over}` };
  out.figures.media_download_bytes_per_core_s = { value: f.download_mb_per_gateway_cpu_s * 1e6, basis: 'measured', source, note: `download ${f.download_mb_per_s.toFixed(1)} MB/s; ${over}` };
  if (f.e2e_verified < f.e2e_sent) out.notes.push(`${source}: ${f.e2e_sent - f.e2e_verified} media message(s) not downloaded and verified end to end`);
}

function e2ee(run: Extract<BenchRun, { kind: 'e2ee' }>, source: string, out: Measurements): void {
  const f = run.figures;
  out.figures.e2e_overhead_bytes_per_message = {
    value: f.overhead_steady_bytes, basis: 'measured', source,
    note: `libsignal SignalMessage + our envelope over a ${f.plaintext_bytes} B plaintext, one device; a session's first message ` +
      `carries ${f.overhead_first_bytes} B; encrypt + decrypt ${f.encrypt_decrypt_us.toFixed(0)} us of client CPU; ${onBox(run.machine, run.generated_at)}`,
  };
  if (f.store_prekey_takes_per_s !== undefined) {
    out.figures.store_prekey_takes_per_s = {
      value: f.store_prekey_takes_per_s, basis: 'measured', source, engine: f.store_engine ?? 'cassandra',
      note: `one node, RF 1, one LWT per take${f.store_cpu_us_per_take ? `, ${f.store_cpu_us_per_take.toFixed(0)} us of node CPU each` : ''}; ` +
        `the bench and the node shared ${onBox(run.machine, run.generated_at)}`,
    };
  }
}

export { looksLikeBenchRun } from '../bench-run';

/** Figures of one bench run; a file that is not a valid run is an error naming it. */
export function fromBenchRun(json: unknown, source: string): Measurements {
  const run = asBenchRun(json, source);
  const out = emptyMeasurements();
  out.sources.push(source);
  if (run.kind === 'coordination') coordination(run, source, out);
  else if (run.kind === 'failover') failover(run, source, out);
  else if (run.kind === 'reaccept') reaccept(run, source, out);
  else if (run.kind === 'process-scaling') processScaling(run, source, out);
  else if (run.kind === 'media') media(run, source, out);
  else if (run.kind === 'e2ee') e2ee(run, source, out);
  else out.notes.push(`${source}: the peers comparison (bench/peers.ts) gives no fleet figure; read it with \`node dist/bench/peers.js\``);
  return out;
}
