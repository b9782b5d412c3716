// Sensitivity: which assumption moves the fleet most. Each parameter (and each
// measured per-node figure the run has) is moved, one at a time, to the low
// and high end of a stated range, the fleet re-projected, and the rows sorted
// by how far the total node count swings: a tornado. Ranges are ours, each with
// a one-line why; a range end outside the parameter's documented bounds is
// clamped to them.
//
// Cost: 2 projections per row, ~40 rows; the chat tier's partition spread (the
// slow part, a rendezvous over up to 1,024 nodes) is skipped in the sweep.
import { FLEET_MODEL_PARAMETERS, type FleetModel, type FleetParameter } from './fleet-model';
import { fleetCost } from './cost';
import { deriveLoad } from './load';
import type { MeasuredField, Measurements } from './measured';
import { projectFleet, type FleetProjection } from './projection';

export interface ParameterRange {
  name: FleetParameter;
  low: number;
  high: number;
  why: string;
}

export interface FigureRange {
  name: MeasuredField;
  /** Multipliers of the measured value. */
  low_factor: number;
  high_factor: number;
  why: string;
}

export const PARAMETER_RANGES: readonly ParameterRange[] = [
  { name: 'peak_to_average_ratio', low: 1.5, high: 4, why: 'a flat global day vs a New Year spike' },
  { name: 'devices_per_user', low: 1, high: 2, why: 'phone only vs phone + laptop for most' },
  { name: 'online_device_share_peak', low: 0.15, high: 0.5, why: 'connections held at the peak hour' },
  { name: 'group_message_share', low: 0.1, high: 0.5, why: 'mostly 1:1 vs group-heavy markets' },
  { name: 'group_members_mean', low: 4, high: 20, why: 'family chats vs community groups' },
  { name: 'offline_delivery_share', low: 0.05, high: 0.4, why: 'deliveries that go through the offline queue' },
  { name: 'receipts_per_recipient', low: 1, high: 2, why: 'read receipts off vs on' },
  { name: 'messages_per_receipt_frame', low: 1, high: 4, why: 'per-message receipts vs cumulative watermarks over bursts' },
  { name: 'presence_changes_per_user_per_hour', low: 1, high: 12, why: 'app switches per user at the peak hour' },
  { name: 'presence_watchers_per_change', low: 0, high: 10, why: 'presence off vs many open chats' },
  { name: 'heartbeat_interval_s', low: 30, high: 300, why: 'mobile NAT timeouts vs a long keepalive' },
  { name: 'replication_factor', low: 2, high: 5, why: 'store copies' },
  { name: 'message_retention_days', low: 30, high: 730, why: 'an offline-queue TTL only (as WhatsApp kept) vs two years of history' },
  { name: 'compaction_space_amplification', low: 1.1, high: 2, why: 'leveled vs size-tiered compaction' },
  { name: 'store_disk_fill_max_share', low: 0.5, high: 0.85, why: 'disk headroom policy' },
  { name: 'store_node_disk_bytes', low: 3.75e12, high: 30e12, why: 'one NVMe drive vs a dense storage node' },
  { name: 'node_utilisation_max', low: 0.5, high: 0.85, why: 'how close to the measured edge a node runs at peak' },
  { name: 'zones', low: 2, high: 5, why: 'availability zones (headroom for losing one)' },
  { name: 'redis_ops_per_delivery', low: 0, high: 2, why: 'routes cached in chat nodes vs looked up twice' },
  { name: 'gateway_connection_memory_gib', low: 8, high: 96, why: 'memory a gateway gives to connections' },
  { name: 'core_scaling_sigma', low: 0, high: 0.1, why: 'contention between the processes of a many-core node (not measured past 2 cores)' },
  { name: 'messages_per_day', low: 50e9, high: 200e9, why: "the seed's load, halved and doubled" },
];

export const FIGURE_RANGES: readonly FigureRange[] = [
  { name: 'gateway_msgs_per_s_at_p99', low_factor: 0.5, high_factor: 2, why: 'a noisy shared box: half or twice the measured rate' },
  { name: 'chat_msgs_per_s_at_p99', low_factor: 0.5, high_factor: 2, why: 'the same for the chat node' },
  { name: 'gateway_cpu_us_per_msg', low_factor: 0.5, high_factor: 2, why: 'the gateway CPU per message, halved or doubled' },
  { name: 'chat_cpu_us_per_msg', low_factor: 0.5, high_factor: 2, why: 'the chat CPU per message, halved or doubled' },
  { name: 'connections_per_gib', low_factor: 0.5, high_factor: 2, why: 'memory per connection, doubled or halved' },
  { name: 'redis_ops_per_s', low_factor: 0.5, high_factor: 2, why: 'unpipelined vs better pipelined Redis' },
  { name: 'store_cpu_us_per_msg', low_factor: 0.5, high_factor: 2, why: 'store CPU per message, halved (ScyllaDB vs Cassandra) or doubled' },
  { name: 'process_scaling_sigma', low_factor: 0.5, high_factor: 2, why: 'contention between processes of one box, halved or doubled' },
  { name: 'chat_coordination_ratio', low_factor: 0.5, high_factor: 1.5, why: 'coordination cost of N chat nodes (ratio capped at 1: none)' },
];

export interface TornadoRow {
  name: string;
  /** seed: one of the seed's own figures (the load itself, not an assumption about it). */
  kind: 'parameter' | 'seed' | 'figure';
  base_value: number;
  low_value: number;
  high_value: number;
  nodes_at_low: number;
  nodes_at_high: number;
  /** |nodes_at_high - nodes_at_low|: the bar's length. */
  swing_nodes: number;
  usd_per_month_at_low: number | null;
  usd_per_month_at_high: number | null;
  why: string;
}

export interface Sensitivity {
  base_nodes: number;
  base_usd_per_month: number | null;
  rows: TornadoRow[];
}

/** Every tier's node count (a floor counts as its floor; a tier with no count as 0). */
export function totalNodes(fleet: FleetProjection): number {
  return fleet.tiers.reduce((s, t) => s + (t.nodes ?? 0), 0);
}

function evaluate(m: FleetModel, measured: Measurements): { nodes: number; usd: number | null } {
  const fleet = projectFleet(m, deriveLoad(m), measured, { chat_facts: false });
  return { nodes: totalNodes(fleet), usd: fleetCost(m, fleet).usd_per_month };
}

const clamp = (name: FleetParameter, v: number) => Math.min(FLEET_MODEL_PARAMETERS[name].max, Math.max(FLEET_MODEL_PARAMETERS[name].min, v));

function withFigure(measured: Measurements, name: MeasuredField, value: number): Measurements {
  const fig = measured.figures[name]!;
  return { ...measured, figures: { ...measured.figures, [name]: { ...fig, value } } };
}

export function sensitivity(
  m: FleetModel, measured: Measurements,
  parameters: readonly ParameterRange[] = PARAMETER_RANGES, figures: readonly FigureRange[] = FIGURE_RANGES,
): Sensitivity {
  const base = evaluate(m, measured);
  const rows: TornadoRow[] = [];
  const push = (name: string, kind: TornadoRow['kind'], baseValue: number, low: number, high: number, a: ReturnType<typeof evaluate>, b: ReturnType<typeof evaluate>, why: string) => {
    rows.push({
      name, kind, base_value: baseValue, low_value: low, high_value: high, nodes_at_low: a.nodes, nodes_at_high: b.nodes,
      swing_nodes: Math.abs(b.nodes - a.nodes), usd_per_month_at_low: a.usd, usd_per_month_at_high: b.usd, why,
    });
  };
  for (const r of parameters) {
    const low = clamp(r.name, r.low);
    const high = clamp(r.name, r.high);
    const at = (v: number) => {
      const mm = { ...m, [r.name]: v };
      // A range that would break a cross-parameter rule (mean group above the limit) keeps the limit.
      if (mm.group_members_mean > mm.group_members_max) mm.group_members_mean = mm.group_members_max;
      return evaluate(mm, measured);
    };
    push(r.name, FLEET_MODEL_PARAMETERS[r.name].source === 'seed' ? 'seed' : 'parameter', m[r.name], low, high, at(low), at(high), r.why);
  }
  for (const r of figures) {
    const fig = measured.figures[r.name];
    if (!fig) continue;
    const cap = (v: number) => (r.name === 'chat_coordination_ratio' ? Math.min(1, v) : v);
    const low = cap(fig.value * r.low_factor);
    const high = cap(fig.value * r.high_factor);
    push(r.name, 'figure', fig.value, low, high, evaluate(m, withFigure(measured, r.name, low)), evaluate(m, withFigure(measured, r.name, high)), `${r.why} (${fig.basis}, ${fig.source})`);
  }
  rows.sort((a, b) => b.swing_nodes - a.swing_nodes || a.name.localeCompare(b.name));
  return { base_nodes: base.nodes, base_usd_per_month: base.usd, rows };
}
