// The projection held beside published fleets (published.ts): connections and
// messages per server, users per server, store nodes per message rate and
// bytes kept. Each row gives our figure, the published one with its source and
// year, the ratio, and why they differ, in numbers from the model and the
// measured costs (work per connection, peak factor, node size, CPU per message
// of this runtime, retention and replication).
import type { FleetModel } from './fleet-model';
import type { Load } from './load';
import type { Measurements } from './measured';
import type { FleetProjection, TierName } from './projection';
import { PUBLISHED, type PublishedName } from './published';
import { formatNumber, formatSi } from './units';
import { nodeCores } from './hardware';

export interface ReconcileRow {
  what: string;
  unit: string;
  ours: number | null;
  /** 'at most' / 'at least' when a tier behind it is a floor (something not measured); 'exact' otherwise. */
  ours_bound: 'exact' | 'at most' | 'at least';
  /** The published figures the comparison value is built from (each with source and year in PUBLISHED). */
  published_from: PublishedName[];
  published: number;
  /** published / ours: how many times the published fleet's figure is ours. */
  ratio: number | null;
  why: string;
}

export interface Reconciliation {
  rows: ReconcileRow[];
  notes: string[];
}

const v = (n: PublishedName) => PUBLISHED[n].value;

function nodesOf(fleet: FleetProjection, tier: TierName): number | null {
  return fleet.tiers.find((t) => t.tier === tier)?.nodes ?? null;
}

function row(what: string, unit: string, ours: number | null, from: PublishedName[], published: number, why: string, bound: ReconcileRow['ours_bound'] = 'exact'): ReconcileRow {
  return { what, unit, ours, ours_bound: bound, published_from: from, published, ratio: ours === null || ours === 0 ? null : published / ours, why };
}

export function reconcile(m: FleetModel, load: Load, measured: Measurements, fleet: FleetProjection): Reconciliation {
  const cores = nodeCores(m, measured.machine?.cpus ?? null) ?? '?';
  const gw = nodesOf(fleet, 'gateway');
  const gwTier = fleet.tiers.find((t) => t.tier === 'gateway')!;
  const store = nodesOf(fleet, 'scylla');
  const total = fleet.tiers.reduce((s, t) => s + (t.nodes ?? 0), 0);
  const wa = { conns: v('whatsapp_2014_connections_peak'), chat: v('whatsapp_2014_chat_servers'), msgs: v('whatsapp_2014_msgs_per_s_peak') };
  const theirWorkPerConn = wa.msgs / wa.conns;
  const ourWorkPerConn = load.gateway_msg_equivalents_per_s_peak / load.connections_peak;
  const deliveriesPerConn = load.device_deliveries_per_s_peak / load.connections_peak;
  const presencePerConn = load.presence_notifications_per_s_peak / load.connections_peak;
  const gwCpu = measured.figures.gateway_cpu_us_per_msg;
  const cpuText = gwCpu
    ? `This runtime (Node.js + uWS) measured ${formatNumber(gwCpu.value)} us of gateway CPU per message (${gwCpu.source}): ${formatSi(1e6 / gwCpu.value, 'msgs/s')} per core.`
    : 'The gateway CPU per message is not measured.';
  const binding = gwTier.binding ?? 'nothing measured';
  const connsWhy =
    `Our gateway count is set by ${binding} on a ${cores}-core node (WhatsApp 2014: ${v('whatsapp_2014_cores_per_server')} cores). ` +
    `Each connection here brings ${formatNumber(ourWorkPerConn)} msg-equivalents/s at peak (${formatNumber(deliveriesPerConn)} device deliveries, ` +
    `each counted as a whole message with its acks and receipts, + ${formatNumber(presencePerConn)} presence notifications; peak factor ${m.peak_to_average_ratio}), ` +
    `against ${formatNumber(theirWorkPerConn)} messages/s per connection at WhatsApp's 2014 peak: ${formatNumber(ourWorkPerConn / theirWorkPerConn)}x the work. ` +
    `${cpuText} Memory allows ${measured.figures.connections_per_gib ? formatSi(measured.figures.connections_per_gib.value * m.gateway_connection_memory_gib, 'connections') : 'an unmeasured number of connections'} per node.`;
  const ourMsgsPerServer = gw ? load.gateway_msg_equivalents_per_s_peak / gw : null;
  const theirMsgsPerServer = wa.msgs / wa.chat;
  // Exact: connections per server = messages per server / messages per connection, so the ratio splits in two.
  const split = ourMsgsPerServer
    ? ` The ratio is exactly ${formatNumber(theirMsgsPerServer / ourMsgsPerServer)}x (messages per server, theirs / ours) x ` +
      `${formatNumber(ourWorkPerConn / theirWorkPerConn)}x (work per connection, ours / theirs).`
    : '';
  const bindingRow = gwTier.constraints.find((c) => c.name === gwTier.binding);
  const perServerWhy = bindingRow && bindingRow.capacity_per_node !== null && gw
    ? `Ours = ${formatSi(bindingRow.capacity_per_node, 'msgs/s')} per node (${binding}, ${bindingRow.basis}) x ${Math.round(m.node_utilisation_max * 100)}% utilisation x ` +
      `${formatNumber(gwTier.nodes_required!)}/${formatNumber(gw)} (zone headroom)`
    : 'Ours is not measured';
  // Per-node figures from a floor node count are at most what they say; node counts and bytes from a floor at least.
  const complete = (t: TierName) => fleet.tiers.find((x) => x.tier === t)?.complete ?? false;
  const perGateway = complete('gateway') ? 'exact' : 'at most';
  const perNode = fleet.tiers.every((t) => t.complete) ? 'exact' : 'at most';
  const storeBound = complete('scylla') ? 'exact' : 'at least';
  const rows: ReconcileRow[] = [
    row('connections per gateway server', 'connections', gw ? load.connections_peak / gw : null, ['whatsapp_2012_connections_per_server'],
      v('whatsapp_2012_connections_per_server'), connsWhy, perGateway),
    row('connections per chat server at peak', 'connections', gw ? load.connections_peak / gw : null,
      ['whatsapp_2014_connections_peak', 'whatsapp_2014_chat_servers'], wa.conns / wa.chat, connsWhy + split, perGateway),
    row('messages per server at peak', 'msgs/s', ourMsgsPerServer,
      ['whatsapp_2014_msgs_per_s_peak', 'whatsapp_2014_chat_servers'], theirMsgsPerServer,
      `${perServerWhy}. Ours counts msg-equivalents (every device delivery with its receipts as a whole message, and presence); theirs counts messages in + out. ` +
        `Our ${cores}-core gateways each carry ${gw ? formatSi(load.gateway_msg_equivalents_per_s_peak / gw, 'msgs/s') : 'an unknown rate'} at peak (${Math.round(m.node_utilisation_max * 100)}% of capacity, ` +
        `with ${m.zones}-zone headroom); WhatsApp's ${v('whatsapp_2014_cores_per_server')}-core servers were held by connections, not messages.`, perGateway),
    row('users per server (whole fleet)', 'users', total > 0 ? m.users / total : null, ['whatsapp_2014_users', 'whatsapp_2014_servers'],
      v('whatsapp_2014_users') / v('whatsapp_2014_servers'),
      `Our fleet counts ${formatNumber(total)} nodes, ${store !== null ? `${formatNumber(store)} of them ScyllaDB nodes that keep ${m.message_retention_days} days of history x RF ${m.replication_factor}` : 'the store not sized'}; ` +
        'WhatsApp (2014) kept a message on its servers only until it was delivered (an offline queue, no history), and media on separate servers.', perNode),
    row('store nodes per 1B messages/day', 'nodes', store !== null ? store / (m.messages_per_day / 1e9) : null,
      ['discord_2017_store_nodes', 'discord_2017_messages_per_day'], v('discord_2017_store_nodes') / (v('discord_2017_messages_per_day') / 1e9),
      `Ours is sized by ${fleet.tiers.find((t) => t.tier === 'scylla')?.binding ?? 'nothing'}: ${m.message_retention_days} days of messages of ` +
        `${formatSi(load.stored_message_bytes, 'B')} x RF ${m.replication_factor} x compaction ${m.compaction_space_amplification}, disks filled to ${Math.round(m.store_disk_fill_max_share * 100)}%; ` +
        "Discord's 2017 cluster was young (history kept since 2015) and its node count is per message rate, not per byte kept.", storeBound),
    row('store disk in all', 'B', store !== null ? store * m.store_node_disk_bytes : null,
      ['discord_2023_store_nodes', 'discord_2023_store_node_disk_bytes'], v('discord_2023_store_nodes') * v('discord_2023_store_node_disk_bytes'),
      `Ours: ${formatSi(load.message_store_physical_bytes_standing + load.user_data_physical_bytes, 'B')} standing (replicated) at ${formatNumber(m.messages_per_day / 1e9)}B messages/day; ` +
        'Discord\'s "trillions of messages" fit 72 nodes: its message rate per node is not in that source, so only the bytes are compared.', storeBound),
  ];
  return {
    rows,
    notes: [
      'ratio = published / ours: above 1, the published fleet did more per server (or needed more nodes per message) than the projection.',
      'Every published figure is a parameter in tools/capacity-model/published.ts with its source and year, quoted from memory and not looked up; ' +
        'check it against the source before quoting it.',
    ],
  };
}
