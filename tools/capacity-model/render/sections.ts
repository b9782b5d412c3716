// The report as titled sections of paragraphs, tables and bullets: the one
// place that decides what is shown and how each number is worded. The terminal
// and Markdown renderers only lay the sections out (the terminal drops the
// widest columns, listed per table).
import { FLEET_PARAMETER_NAMES } from '../fleet-model';
import { MEASURED_FIELD_NAMES, MEASURED_FIELDS } from '../measured';
import type { Constraint, TierProjection } from '../projection';
import type { CapacityReport } from '../report';
import { formatBitsPerS, formatNumber, formatPercent, formatSeconds, formatSi, formatValue } from '../units';
import type { Section, Table } from './section';
import { architectSections } from './architect-sections';

export type { Section, Table } from './section';

const VERDICT_TEXT = { exact: 'exact', rounded: 'rounded', differs: 'DIFFERS' } as const;

function factor(x: number | null): string {
  return x === null || !Number.isFinite(x) ? '' : `${formatNumber(x)}x`;
}

function seedSection(r: CapacityReport): Section {
  const differ = r.seed_check.filter((row) => row.verdict !== 'exact');
  return {
    title: "The seed's estimates, recomputed",
    paragraphs: [
      "Each figure of the seed's Capacity Estimation recomputed from its own inputs. " +
        `${r.seed_check.filter((x) => x.verdict === 'exact').length} exact, ` +
        `${r.seed_check.filter((x) => x.verdict === 'rounded').length} rounded, ` +
        `${r.seed_check.filter((x) => x.verdict === 'differs').length} differ.`,
    ],
    tables: [{
      headers: ['figure', 'seed says', 'seed value', 'recomputed', 'diff', 'verdict', 'how', 'what it leaves out'],
      rows: r.seed_check.map((row) => [
        row.label, row.seed_text, formatValue(row.seed_value, row.unit), formatValue(row.recomputed_value, row.unit),
        row.relative_difference === 0 ? '0' : formatPercent(row.relative_difference, 2),
        VERDICT_TEXT[row.verdict], row.formula, row.note,
      ]),
      align: ['left', 'left', 'right', 'right', 'right', 'left', 'left', 'left'],
      terminal_hides: [1, 6, 7],
    }],
    bullets: differ.map((row) => `${row.label}: ${VERDICT_TEXT[row.verdict]}: ${row.reason}`),
  };
}

function omissionsSection(r: CapacityReport): Section {
  return {
    title: 'What the seed leaves out',
    paragraphs: ['At the busiest hour, with the model\'s assumptions (change them with --set name=value).'],
    tables: [{
      headers: ['left out', 'seed', 'with the model', 'x seed', 'how', 'parameters'],
      rows: r.omissions.map((o) => [o.title, o.seed_says, o.value_text, factor(o.factor_vs_seed), o.formula, o.parameters.join(', ')]),
      align: ['left', 'left', 'left', 'right', 'left', 'left'],
      terminal_hides: [4, 5],
    }],
    bullets: [],
  };
}

function measuredSection(r: CapacityReport): Section {
  const rows = MEASURED_FIELD_NAMES.map((name) => {
    const fig = r.measured.figures[name];
    const spec = MEASURED_FIELDS[name];
    return fig
      ? [name, `${formatNumber(fig.value)} ${spec.unit}`, fig.basis, fig.source, fig.note ?? '']
      : [name, 'not measured', '', '', spec.what];
  });
  return {
    title: 'Measured per-node figures',
    paragraphs: [
      r.measured.sources.length > 0 ? `From: ${r.measured.sources.join(', ')}.` : 'No results given: every per-node figure is "not measured".',
      ...(r.measured.machine ? [`Machine: ${r.measured.machine.hostname ?? '?'}, ${r.measured.machine.cpus ?? '?'} cores, node ${r.measured.machine.node ?? '?'}.`] : []),
    ],
    tables: [{ headers: ['figure', 'value', 'basis', 'source', 'note'], rows, align: ['left', 'right', 'left', 'left', 'left'], terminal_hides: [3, 4] }],
    bullets: r.measured.notes,
  };
}

/** A count, or the count and the code's limit when the code cannot run that many. */
function countText(n: number, max: number | null): string {
  return max !== null && n > max ? `${n}: over the code's ${max}` : String(n);
}

function nodesText(t: TierProjection): string {
  if (t.nodes === null) return 'not measured';
  return `${t.complete ? '' : '>= '}${countText(t.nodes, t.nodes_max)}`;
}

function cpuBoundText(t: TierProjection): string {
  if (t.nodes_cpu_basis !== null) return countText(t.nodes_cpu_basis, t.nodes_max);
  return t.constraints.some((c) => c.kind === 'cpu') ? 'not measured' : '';
}

function constraintRow(t: TierProjection, c: Constraint): string[] {
  const unitOf = (u: string) => (u === 'connections' ? 'conns' : u);
  return [
    t.tier, c.name + (c.kind === 'main' ? '' : ' (not used)'), formatValue(c.demand, unitOf(c.demand_unit)),
    c.usable_per_node === null ? 'not measured' : formatValue(c.usable_per_node, unitOf(c.demand_unit)),
    c.nodes === null ? 'not measured' : String(c.nodes), c.basis, c.note ?? c.source,
  ];
}

function fleetSection(r: CapacityReport): Section {
  const f = r.fleet;
  const n = f.network;
  return {
    title: 'Projected fleet',
    paragraphs: [
      `For the model's peak (${formatSi(r.load.sends_per_s_peak, 'sends/s')}, ${formatSi(r.load.device_deliveries_per_s_peak, 'device deliveries/s')}, ` +
        `${formatSi(r.load.connections_peak, 'connections')}), each node used up to ${formatPercent(r.model.node_utilisation_max)} of its measured capacity. ` +
        '"CPU-bound" sizes the same tier as if a node\'s cores were fully busy at the measured CPU per message (an extrapolation, not a measurement; ' +
        'the chat tier\'s is the single-node figure divided by the measured coordination ratio).',
      ...f.notes,
    ],
    tables: [
      {
        headers: ['tier', 'nodes', 'needed (no headroom)', 'set by', 'headroom', 'CPU-bound'],
        rows: f.tiers.map((t) => [
          t.title, nodesText(t), t.nodes_required === null ? 'not measured' : countText(t.nodes_required, t.nodes_max), t.binding ?? '', t.headroom,
          cpuBoundText(t),
        ]),
        align: ['left', 'right', 'right', 'left', 'left', 'right'],
        terminal_hides: [4],
      },
      {
        headers: ['tier', 'constraint', 'demand at peak', 'usable per node', 'nodes', 'basis', 'from'],
        rows: f.tiers.flatMap((t) => t.constraints.map((c) => constraintRow(t, c))),
        align: ['left', 'left', 'right', 'right', 'right', 'left', 'left'],
        terminal_hides: [6],
      },
      {
        headers: ['network at peak', 'rate'],
        rows: [
          ['clients -> gateways (messages, receipts, pongs)', formatBitsPerS(n.client_ingress_bits_per_s_peak)],
          ['gateways -> clients (deliveries, receipts, presence, pings)', formatBitsPerS(n.client_egress_bits_per_s_peak)],
          ['media upload + download (blob store / CDN)', formatBitsPerS(n.media_bits_per_s_peak)],
          ['gateway <-> chat service (gRPC, batched)', formatBitsPerS(n.internal_rpc_bits_per_s_peak)],
          ['store replication (message rows x RF)', formatBitsPerS(n.store_replication_bits_per_s_peak)],
          ['client egress per gateway / its NIC', n.gateway_nic_share_peak === null ? 'not projected' : formatPercent(n.gateway_nic_share_peak)],
        ],
        align: ['left', 'right'],
      },
    ],
    bullets: f.tiers.flatMap((t) => t.notes.map((note) => `${t.tier}: ${note}`)),
  };
}

function uslSection(r: CapacityReport): Section {
  const u = r.usl;
  if (!u.fit) return { title: 'Universal Scalability Law', paragraphs: [`Not fitted: ${u.reason}.`], tables: [], bullets: [] };
  const fit = u.fit;
  const from = u.points[0]?.concurrency_from === 'little' ? 'concurrency = messages in flight (Little\'s law: throughput x mean latency)' : 'concurrency as given';
  return {
    title: 'Universal Scalability Law',
    paragraphs: [`X(N) = lambda N / (1 + sigma (N-1) + kappa N (N-1)), fitted to ${fit.points} points by ${fit.method}; ${from}.`],
    tables: [
      {
        headers: ['coefficient', 'value', 'meaning'],
        rows: [
          ['sigma (contention)', formatNumber(fit.sigma, 4), 'serial share: queueing on a shared resource'],
          ['kappa (coherency)', fit.kappa === 0 ? '0' : fit.kappa.toExponential(3), 'crosstalk: cost that grows with N^2'],
          ['lambda', `${formatNumber(fit.lambda)} /s`, 'throughput per unit of concurrency, no interference'],
          ['N* = sqrt((1-sigma)/kappa)', Number.isFinite(fit.peak_concurrency) ? formatNumber(fit.peak_concurrency) : 'none (kappa = 0)', 'where adding load stops paying'],
          ['X(N*)', Number.isFinite(fit.peak_throughput_per_s) ? formatSi(fit.peak_throughput_per_s, 'msgs/s') : 'unbounded', 'predicted peak throughput'],
          ['R^2 / RMSE', `${formatNumber(fit.r_squared, 4)} / ${formatSi(fit.rmse_per_s, 'msgs/s')}`, 'goodness of fit'],
        ],
        align: ['left', 'right', 'left'],
      },
      {
        headers: ['N', 'measured X', 'fitted X', 'source'],
        rows: u.points.map((p) => [
          formatNumber(p.concurrency), formatSi(p.throughput_per_s, 'msgs/s'),
          formatSi((fit.lambda * p.concurrency) / (1 + fit.sigma * (p.concurrency - 1) + fit.kappa * p.concurrency * (p.concurrency - 1)), 'msgs/s'), p.source,
        ]),
        align: ['right', 'right', 'right', 'left'],
        terminal_hides: [3],
      },
    ],
    bullets: fit.warnings,
  };
}

function failureSection(r: CapacityReport): Section {
  const w = r.failure;
  return {
    title: 'Failure what-if: re-accepting lost users, serving lost partitions',
    paragraphs: [
      `Gateways: ${w.gateways === null ? 'not projected' : `${w.gateways_complete ? '' : '>= '}${w.gateways}`}; ` +
        `reconnect accept rate per gateway: ${w.reconnect_accept_per_s === null ? 'not measured' : `${formatSi(w.reconnect_accept_per_s, 'conns/s')} ` +
          `${w.reconnect_path === 'load balancer' ? 'through the load balancer' : 'straight to a gateway'} (${w.reconnect_source})`}; ` +
        `client jitter window ${formatSeconds(r.model.reconnect_jitter_window_s)}; ` +
        `error budget at ${formatPercent(r.model.availability_target, 3)}: ${formatSeconds(w.error_budget_s_per_year)}/year.`,
    ],
    tables: w.cases.length === 0 ? [] : [{
      headers: ['what fails', 'connections to re-accept', 'surviving gateways', 'accept capacity', 'accept-bound', 'recovery', 'budget used'],
      rows: w.cases.map((c) => [
        c.title, formatSi(c.connections_lost, 'conns'), c.gateways_surviving === null ? '' : String(c.gateways_surviving),
        c.accept_per_s_total === null ? 'not measured' : formatSi(c.accept_per_s_total, 'conns/s'),
        c.capacity_bound_s === null ? 'not measured' : formatSeconds(c.capacity_bound_s),
        c.recovery_s === null ? 'not measured' : formatSeconds(c.recovery_s),
        c.error_budget_share === null ? '' : formatPercent(c.error_budget_share),
      ]),
      align: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
    }, ...chatFailureTables(r)],
    bullets: w.notes,
  };
}

function chatFailureTables(r: CapacityReport): Table[] {
  const cases = r.failure.chat_cases;
  if (cases.length === 0) return [];
  const budget = (x: number | null, c: (typeof cases)[number]) =>
    (x !== null ? formatPercent(x) : c.unserved_s === null ? 'not measured' : 'not projected');
  return [{
    headers: ['what fails (chat tier)', 'chat nodes lost', 'chats unserved', 'for (failover max)', 'budget used', 'with the gateways\' re-accept'],
    rows: cases.map((c) => [
      c.title, c.chat_nodes_lost === null ? `1/${r.model.zones} of them` : c.chats_unserved_share === null ? String(c.chat_nodes_lost) : `${c.chat_nodes_lost} of ${c.chat_nodes}`,
      c.chats_unserved_share === null ? 'not projected (over the code\'s limit)' : formatPercent(c.chats_unserved_share),
      c.unserved_s === null ? 'not measured' : formatSeconds(c.unserved_s), budget(c.error_budget_share, c),
      c.id !== 'zone' ? '' : c.error_budget_share === null ? budget(null, c)
        : c.error_budget_share_with_gateways === null ? 'not measured (gateways)' : formatPercent(c.error_budget_share_with_gateways),
    ]),
    align: ['left', 'right', 'right', 'right', 'right', 'right'],
  }];
}

function parametersSection(r: CapacityReport): Section {
  const changed = new Set(r.changed_parameters);
  return {
    title: 'Model parameters',
    paragraphs: ['Every number the model uses (tools/capacity-model/fleet-model.ts); a * marks one changed from the default.'],
    tables: [{
      headers: ['parameter', 'value', 'unit', 'source', 'why'],
      rows: FLEET_PARAMETER_NAMES.map((name) => {
        const doc = r.parameters[name];
        return [`${changed.has(name) ? '* ' : ''}${name}`, formatNumber(r.model[name]), doc.unit, doc.source, doc.why];
      }),
      align: ['left', 'right', 'left', 'left', 'left'],
    }],
    bullets: [],
    markdown_only: true,
  };
}

export function reportSections(r: CapacityReport): Section[] {
  return [seedSection(r), omissionsSection(r), measuredSection(r), fleetSection(r), uslSection(r), failureSection(r), ...architectSections(r), parametersSection(r)];
}
