// The architect's sections of the report (issue 20): the fleet on each
// hardware profile, the sensitivity tornado, the cost, and the reconciliation
// with published fleets. Same shape as ./sections.ts, so the terminal,
// Markdown and HTML renderers lay them out alike.
import { PUBLISHED } from '../published';
import type { CapacityReport } from '../report';
import { formatNumber, formatSi, formatValue } from '../units';
import type { Section } from './section';

const usd = (x: number | null, floor = false): string => (x === null ? 'not measured' : `${floor ? '>= ' : ''}$${formatNumber(Math.round(x))}`);
const usdCents = (x: number | null, floor = false): string => (x === null ? 'not measured' : `${floor ? '>= ' : ''}$${x < 10 ? x.toFixed(2) : formatNumber(x)}`);
const count = (n: number | null, floor: boolean): string => (n === null ? 'not measured' : `${floor ? '>= ' : ''}${formatNumber(n)}`);

function profilesSection(r: CapacityReport): Section {
  const tiers = r.fleet.tiers.map((t) => t.tier);
  return {
    title: 'Hardware profiles',
    paragraphs: [
      'The same load and measurements on each named profile (tools/capacity-model/hardware.ts; `--profile NAME`, then `--set` for any one value). ' +
        'On a profile whose cores differ from the measured machine, gateway and chat throughput is the measured CPU per message per core times ' +
        `the cores the USL lets count (sigma ${Number(r.core_scaling.sigma.toPrecision(3))}, kappa ${Number(r.core_scaling.kappa.toPrecision(3))}: ${r.core_scaling.from}); ` +
        'memory, NIC and disk come from the profile.',
      `This box has ${r.measured.machine?.cpus ?? 'an unrecorded number of'} cores and the load generator shared them with the system: the measured ` +
        'rates are the whole system\'s on that box, the CPU per message is each process\'s own. The extrapolation is weakest in the core scaling ' +
        `(no run had more than ${r.measured.machine?.cpus ?? 'a few'} processes on their own cores, and the USL is carried from there to 32 or 64) ` +
        'and in the chat tier\'s coordination ratio, taken at 3 nodes and assumed to hold at any N.',
    ],
    tables: [{
      headers: ['profile', 'hardware', 'cores count as', ...tiers, 'all nodes', 'USD/month', 'USD per 1M msgs'],
      rows: r.profiles.map((p) => [
        `${p.profile}${p.profile === r.profile ? ' (this report)' : ''}`, p.what,
        p.effective_cores === null ? 'not known' : p.measured_rates ? `${p.node_cores} (measured rates)` : `${formatNumber(p.effective_cores)} of ${p.node_cores}`,
        ...tiers.map((t) => count(p.nodes[t] ?? null, !p.tier_complete[t])), count(p.total_nodes, !p.complete),
        usd(p.usd_per_month, !p.complete), usdCents(p.usd_per_million_messages, !p.complete),
      ]),
      align: ['left', 'left', 'right', ...tiers.map(() => 'right' as const), 'right', 'right', 'right'],
      terminal_hides: [1],
    }],
    bullets: [],
  };
}

function sensitivitySection(r: CapacityReport): Section {
  const s = r.sensitivity;
  const top = s.rows.filter((x) => x.kind !== 'seed').slice(0, 3).map((x) => `${x.name} (${formatNumber(x.swing_nodes)} nodes)`);
  return {
    title: 'Sensitivity',
    paragraphs: [
      `Each parameter, and each measured per-node figure, moved alone to the ends of a stated range; the fleet re-projected (all tiers, with headroom). ` +
        `Base: ${formatNumber(s.base_nodes)} nodes, ${usd(s.base_usd_per_month)}/month. The three assumptions or measured figures that move it most: ${top.join(', ')}` +
        `${s.rows[0]?.kind === 'seed' ? ` (the seed's own ${s.rows[0].name} moves it ${formatNumber(s.rows[0].swing_nodes)})` : ''}.`,
    ],
    tables: [{
      headers: ['parameter', 'kind', 'base', 'low', 'high', 'nodes at low', 'nodes at high', 'swing', 'USD/month at low', 'USD/month at high', 'range, why'],
      rows: s.rows.map((x) => [
        x.name, x.kind, formatNumber(x.base_value), formatNumber(x.low_value), formatNumber(x.high_value),
        formatNumber(x.nodes_at_low), formatNumber(x.nodes_at_high), formatNumber(x.swing_nodes),
        usd(x.usd_per_month_at_low), usd(x.usd_per_month_at_high), x.why,
      ]),
      align: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
      terminal_hides: [1, 8, 9, 10],
    }],
    bullets: ['A tier whose count is a floor (something not measured) enters with its floor: a parameter of an unmeasured constraint shows no swing.'],
  };
}

function costSection(r: CapacityReport): Section {
  const c = r.cost;
  return {
    title: 'Cost',
    paragraphs: [
      `Nodes x monthly price per node. ${formatSi(c.messages_per_month, 'messages')} a month (messages_per_day x 30.44 days): ` +
        `${usdCents(c.usd_per_million_messages, !c.complete)} per million messages, ${usd(c.usd_per_month, !c.complete)} a month in all.`,
    ],
    tables: [{
      headers: ['tier', 'nodes', 'USD per node-month', 'USD/month'],
      rows: [
        ...c.tiers.map((t) => [t.tier, count(t.nodes, !t.complete), usd(t.usd_per_node_month), usd(t.usd_per_month, !t.complete)]),
        ['total', '', '', usd(c.usd_per_month, !c.complete)],
      ],
      align: ['left', 'right', 'right', 'right'],
    }],
    bullets: c.notes,
  };
}

const BOUND = { exact: '', 'at most': '<= ', 'at least': '>= ' } as const;
/** published / ours: a bound on ours turns the other way on the ratio. */
const RATIO_BOUND = { exact: '', 'at most': '>= ', 'at least': '<= ' } as const;

function reconciliationSection(r: CapacityReport): Section {
  const rec = r.reconciliation;
  return {
    title: 'Reconciliation with published fleets',
    paragraphs: ['The projection beside what others published. Each published figure: its value, source and year (tools/capacity-model/published.ts).'],
    tables: [
      {
        headers: ['what', 'ours', 'published', 'ratio (published / ours)', 'from', 'why they differ'],
        rows: rec.rows.map((x) => [
          x.what, x.ours === null ? 'not measured' : `${BOUND[x.ours_bound]}${formatValue(x.ours, x.unit)}`, formatValue(x.published, x.unit),
          x.ratio === null ? '' : `${RATIO_BOUND[x.ours_bound]}${formatNumber(x.ratio)}x`,
          x.published_from.map((n) => `${n} (${PUBLISHED[n].year})`).join(', '), x.why,
        ]),
        align: ['left', 'right', 'right', 'right', 'left', 'left'],
        terminal_hides: [4, 5],
      },
      {
        headers: ['published figure', 'value', 'year', 'source', 'note'],
        rows: Object.entries(PUBLISHED).map(([name, p]) => [name, formatValue(p.value, p.unit), String(p.year), p.source, p.note]),
        align: ['left', 'right', 'right', 'left', 'left'],
        terminal_hides: [3, 4],
      },
    ],
    bullets: [...rec.notes, ...rec.rows.map((x) => `${x.what}: ${x.why}`)],
  };
}

export function architectSections(r: CapacityReport): Section[] {
  return [profilesSection(r), sensitivitySection(r), costSection(r), reconciliationSection(r)];
}
