// The fleet for the model's load, from what one node was measured to carry.
// Each tier is sized by every constraint that applies to it (throughput,
// memory, network, disk, operations); the largest wins, then headroom is added
// for losing a node or a zone. A constraint whose per-node figure nobody
// measured says "not measured" and the tier's count becomes "at least".
//
// Node = a machine like the measured one, unless the model's node_cores (a
// hardware profile) differs from the measured machine's: then a tier's
// throughput is the measured CPU per message per core times the cores the
// USL lets count (hardware.ts), and the measured rate is shown, not used.
//
// Before profiles: node = a machine like the measured one. Throughput figures from a run where
// the whole system shared one machine are lower bounds for a dedicated node, so
// counts built on them are upper bounds; the CPU-bound column shows the other
// side (a node's cores fully busy at the measured CPU per message).
import type { FleetModel } from './fleet-model';
import { toBits, type Load } from './load';
import { CHAT_NODES_MAX, CHAT_OWNERSHIP_NOTE, chatCpuPerMsg, idRateNote, overPartitionLimit, partitionSpread, spreadNote } from './chat-tier';
import type { FigureBasis, MeasuredField, MeasuredFigure, Measurements } from './measured';
import { effectiveCores } from './hardware';
import { BITS_PER_BYTE, BYTES_PER_GIB } from './units';

export type ConstraintBasis = FigureBasis | 'model' | 'cpu-extrapolated' | 'not measured';

export interface Constraint {
  name: string;
  demand: number;
  demand_unit: string;
  /** What one node can do, before the utilisation ceiling; null when not measured. */
  capacity_per_node: number | null;
  /** What we plan to use of it at peak. */
  usable_per_node: number | null;
  basis: ConstraintBasis;
  source: string;
  nodes: number | null;
  note?: string;
  /**
   * main     - sizes the tier
   * cpu      - the CPU-bound extrapolation: its own column, never the tier's count
   * stand-in - a figure measured on something else (the embedded store for ScyllaDB): shown, never used
   */
  kind: 'main' | 'cpu' | 'stand-in';
}

export type TierName = 'gateway' | 'chat' | 'scylla' | 'redis' | 'media';

export interface TierProjection {
  tier: TierName;
  title: string;
  constraints: Constraint[];
  /** The constraint that sets the count. */
  binding: string | null;
  nodes_required: number | null;
  /** Nodes with headroom: what to run. */
  nodes: number | null;
  headroom: string;
  /** False when a constraint of the tier is not measured: `nodes` is then a floor. */
  complete: boolean;
  /** The same tier sized with the CPU-bound extrapolation in place of the measured throughput. */
  nodes_cpu_basis: number | null;
  /** The most nodes of this tier the code can run (chat: one per partition); null when the code sets no limit. */
  nodes_max: number | null;
  notes: string[];
}

export interface NetworkProjection {
  client_ingress_bits_per_s_peak: number;
  client_egress_bits_per_s_peak: number;
  media_bits_per_s_peak: number;
  internal_rpc_bits_per_s_peak: number;
  store_replication_bits_per_s_peak: number;
  /** Client egress per gateway over its NIC, at the projected gateway count. */
  gateway_nic_share_peak: number | null;
}

export interface FleetProjection {
  tiers: TierProjection[];
  network: NetworkProjection;
  node_cpus: number | null;
  notes: string[];
}

function figureConstraint(
  name: string, demand: number, demandUnit: string, figure: MeasuredFigure | undefined, field: MeasuredField,
  perNode: (f: MeasuredFigure) => number, utilisation: number,
): Constraint {
  if (!figure) {
    return { name, demand, demand_unit: demandUnit, capacity_per_node: null, usable_per_node: null, basis: 'not measured', source: field, nodes: null, kind: 'main' };
  }
  const capacity = perNode(figure);
  const usable = capacity * utilisation;
  return {
    name, demand, demand_unit: demandUnit, capacity_per_node: capacity, usable_per_node: usable,
    basis: figure.basis, source: figure.source, nodes: Math.ceil(demand / usable), note: figure.note, kind: 'main',
  };
}

function modelConstraint(name: string, demand: number, demandUnit: string, capacity: number, usable: number, source: string): Constraint {
  return { name, demand, demand_unit: demandUnit, capacity_per_node: capacity, usable_per_node: usable, basis: 'model', source, nodes: Math.ceil(demand / usable), kind: 'main' };
}

function cpuConstraint(name: string, demand: number, figure: MeasuredFigure | undefined, cpus: number | null, utilisation: number): Constraint | null {
  if (!figure) return null;
  return cpuConstraintAt(name, demand, figure.value, figure.source, cpus, utilisation, `${figure.value.toFixed(1)} us per message`);
}

function cpuConstraintAt(name: string, demand: number, usPerMsg: number, source: string, cpus: number | null, utilisation: number, what: string): Constraint {
  const cores = cpus ?? 1;
  const capacity = (cores * 1e6) / usPerMsg;
  const usable = capacity * utilisation;
  return {
    name, demand, demand_unit: 'msg-equivalents/s', capacity_per_node: capacity, usable_per_node: usable,
    basis: 'cpu-extrapolated', source, nodes: Math.ceil(demand / usable), kind: 'cpu',
    note: `${cpus ?? 'one (machine not recorded)'} core(s) fully busy at ${what}`,
  };
}

/** The chat tier's CPU-bound row: the single-node CPU per message over the coordination ratio, or "not measured". */
function chatCpuConstraint(demand: number, f: Measurements['figures'], cpus: number | null, utilisation: number): Constraint | null {
  const single = f.chat_cpu_us_per_msg;
  if (!single) return null;
  const name = 'throughput (CPU-bound, N nodes)';
  const per = chatCpuPerMsg(single, f.chat_coordination_ratio);
  if (per.us_per_msg === null) {
    return {
      name, demand, demand_unit: 'msg-equivalents/s', capacity_per_node: null, usable_per_node: null,
      basis: 'not measured', source: 'chat_coordination_ratio', nodes: null, kind: 'cpu', note: per.note,
    };
  }
  return cpuConstraintAt(name, demand, per.us_per_msg, `${single.source} / ${f.chat_coordination_ratio!.source}`, cpus, utilisation, per.note);
}

/** Throughput of a node of `cores` cores from the measured CPU per message, through the USL over cores. */
/** The USL over the cores of a node: measured across processes on the measured box when a bench gave it, else the model's assumption. */
export function coreScaling(m: FleetModel, f: Measurements['figures']): { sigma: number; kappa: number; from: string } {
  if (f.process_scaling_sigma || f.process_scaling_kappa) {
    return {
      sigma: f.process_scaling_sigma?.value ?? 0, kappa: f.process_scaling_kappa?.value ?? 0,
      from: `measured across processes of one box (${(f.process_scaling_sigma ?? f.process_scaling_kappa)!.source})`,
    };
  }
  return { sigma: m.core_scaling_sigma, kappa: m.core_scaling_kappa, from: 'model assumption core_scaling_sigma/kappa' };
}

function perCoreConstraint(
  demand: number, usPerMsg: number | null, source: string, m: FleetModel, utilisation: number, what: string,
  scaling: { sigma: number; kappa: number; from: string },
): Constraint {
  const name = `throughput (${m.node_cores} cores, per-core CPU x USL)`;
  if (usPerMsg === null) {
    return { name, demand, demand_unit: 'msg-equivalents/s', capacity_per_node: null, usable_per_node: null, basis: 'not measured', source, nodes: null, kind: 'main', note: what };
  }
  const eff = effectiveCores(m.node_cores, scaling.sigma, scaling.kappa);
  const capacity = (eff * 1e6) / usPerMsg;
  const usable = capacity * utilisation;
  return {
    name, demand, demand_unit: 'msg-equivalents/s', capacity_per_node: capacity, usable_per_node: usable,
    basis: 'cpu-extrapolated', source, nodes: Math.ceil(demand / usable), kind: 'main',
    note: `${m.node_cores} cores count as ${eff.toFixed(1)} (sigma ${Number(scaling.sigma.toPrecision(3))}, kappa ${Number(scaling.kappa.toPrecision(3))}: ${scaling.from}), ` +
      `each at ${what}`,
  };
}

/** The measured single-machine rate, kept on a profile of another size as a row shown and not used. */
function shownOnly(c: Constraint, measuredCores: number, cores: number): Constraint {
  return {
    ...c, name: `${c.name} (measured on ${measuredCores} cores)`, kind: 'stand-in',
    note: `measured on the ${measuredCores}-core machine with the whole system and the load generator on it; the node here has ${cores} cores. ${c.note ?? ''}`.trim(),
  };
}

/**
 * Media transfer on a node's cores: upload and download bytes each at their measured bytes per core-second, summed
 * (they share the cores), against the node's cores; "not measured" until bench/media-http.ts --json gives both.
 */
function mediaCpuConstraint(load: Load, f: Measurements['figures'], cpus: number | null, utilisation: number): Constraint {
  const up = f.media_upload_bytes_per_core_s;
  const down = f.media_download_bytes_per_core_s;
  const name = 'transfer (CPU)';
  if (!up || !down) {
    const bytes = load.media_upload_bytes_per_s_peak + load.media_download_bytes_per_s_peak;
    return { name, demand: bytes, demand_unit: 'B/s', capacity_per_node: null, usable_per_node: null, basis: 'not measured', source: 'media_upload_bytes_per_core_s', nodes: null, kind: 'main' };
  }
  const cores = cpus ?? 1;
  const demand = load.media_upload_bytes_per_s_peak / up.value + load.media_download_bytes_per_s_peak / down.value;
  return {
    name, demand, demand_unit: 'core-s/s', capacity_per_node: cores, usable_per_node: cores * utilisation,
    basis: up.basis === 'assumed' || down.basis === 'assumed' ? 'assumed' : 'measured', source: up.source === down.source ? up.source : `${up.source} / ${down.source}`,
    nodes: Math.ceil(demand / (cores * utilisation)), kind: 'main',
    note: `${(up.value / 1e6).toFixed(1)} MB/s upload and ${(down.value / 1e6).toFixed(1)} MB/s download per core; ${cpus ?? 'one (machine not recorded)'} core(s) per node`,
  };
}

/** The chat tier with what the code makes true of it: ownership, the partition limit, the spread. */
function withChatFacts(t: TierProjection, utilisation: number, sendsPerSPeak: number): TierProjection {
  const limits = [
    overPartitionLimit('The throughput sizing with headroom', t.nodes) ?? overPartitionLimit('The throughput sizing', t.nodes_required),
    overPartitionLimit('The CPU-bound sizing', t.nodes_cpu_basis),
  ].filter((x): x is string => x !== null);
  const spread = t.nodes !== null ? partitionSpread(t.nodes) : null;
  return {
    ...t,
    nodes_max: CHAT_NODES_MAX,
    notes: [CHAT_OWNERSHIP_NOTE, ...limits, ...(spread ? [spreadNote(spread, utilisation)] : []), idRateNote(sendsPerSPeak), ...t.notes],
  };
}

/** Stateless tiers: survive one node (N+1) and one zone (the other zones carry the peak). */
export function statelessHeadroom(required: number, zones: number): number {
  const nPlusOne = required + 1;
  const zoneLoss = zones > 1 ? zones * Math.ceil(required / (zones - 1)) : nPlusOne;
  return Math.max(nPlusOne, zoneLoss);
}

/** Replicated store, one replica per zone: nodes come in whole racks (one per zone). */
export function replicatedHeadroom(required: number, zones: number): number {
  return zones * Math.ceil(required / zones);
}

function tier(
  name: TierName, title: string, constraints: Constraint[], headroom: (required: number) => number, headroomText: string, notes: string[],
): TierProjection {
  const main = constraints.filter((c) => c.kind === 'main');
  const sized = main.filter((c) => c.nodes !== null);
  const binding = sized.reduce<Constraint | null>((best, c) => (best && best.nodes! >= c.nodes! ? best : c), null);
  const required = binding ? binding.nodes! : null;
  const cpu = constraints.find((c) => c.kind === 'cpu');
  let cpuRequired: number | null = null;
  if (cpu && cpu.nodes !== null) {
    const others = main.filter((c) => c.name !== 'throughput' && c.nodes !== null).map((c) => c.nodes!);
    cpuRequired = Math.max(cpu.nodes, ...others);
  }
  return {
    tier: name, title, constraints,
    binding: binding?.name ?? null,
    nodes_required: required,
    nodes: required === null ? null : headroom(required),
    headroom: headroomText,
    complete: main.every((c) => c.nodes !== null),
    nodes_cpu_basis: cpuRequired === null ? null : headroom(cpuRequired),
    nodes_max: null,
    notes,
  };
}

/** What the Redis rows rest on: the model's assumptions, next to what the code runs. */
const REDIS_NOTES = [
  'In this code Redis is the routes/presence directory (server/directory, docs/design/013): gateways publish every session, each chat ' +
    'node keeps a full in-memory replica and takes presence from it. The topology starts one Redis (deploy/services/redis.ts) with no ' +
    'replica and no sharding (the directory\'s scripts need one Redis or Sentinel, not Redis Cluster); no run has measured its load at ' +
    'scale. This tier is the model\'s, not the code\'s.',
  'Memory is a model assumption: one route entry per connection (redis_bytes_per_route_entry).',
  'Ops is a model assumption: redis_ops_per_delivery lookups per device delivery + one write per presence change + one route refresh per ' +
    'connection per heartbeat. The directory design (docs/design/013) looks routes up in each chat node\'s in-memory replica instead ' +
    '(--set redis_ops_per_delivery=0).',
  'Ops/s is per node: Redis executes commands on one thread.',
];

export interface ProjectOptions {
  /** Compute the chat tier's partition spread and notes (slow past a few hundred nodes: the sensitivity sweep skips it). */
  chat_facts?: boolean;
}

export function projectFleet(m: FleetModel, load: Load, measured: Measurements, opts: ProjectOptions = {}): FleetProjection {
  const f = measured.figures;
  const cpus = measured.machine?.cpus ?? null;
  // A profile of another size than the measured machine: throughput from CPU per message per core.
  const perCore = cpus !== null && m.node_cores > 0 && m.node_cores !== cpus;
  const scaling = coreScaling(m, f);
  const util = m.node_utilisation_max;
  const stateless = (r: number) => statelessHeadroom(r, m.zones);
  const statelessText = `max(N+1, ${m.zones} zones x ceil(N / ${Math.max(1, m.zones - 1)}))`;

  const gatewayEgressBitsPerS = toBits(load.gateway_egress_bytes_per_s_peak);
  const gwMeasured = figureConstraint('throughput', load.gateway_msg_equivalents_per_s_peak, 'msg-equivalents/s', f.gateway_msgs_per_s_at_p99, 'gateway_msgs_per_s_at_p99', (x) => x.value, util);
  const gwCpu = f.gateway_cpu_us_per_msg;
  const gwThroughput = perCore
    ? [
      perCoreConstraint(load.gateway_msg_equivalents_per_s_peak, gwCpu?.value ?? null, gwCpu?.source ?? 'gateway_cpu_us_per_msg', m, util,
        gwCpu ? `${gwCpu.value.toFixed(1)} us per message (${gwCpu.basis})` : 'gateway CPU per message not measured', scaling),
      ...(gwMeasured.nodes !== null ? [shownOnly(gwMeasured, cpus!, m.node_cores)] : []),
    ]
    : [gwMeasured, ...[cpuConstraint('throughput (CPU-bound)', load.gateway_msg_equivalents_per_s_peak, gwCpu, cpus, util)].filter((c): c is Constraint => c !== null)];
  const gateway = tier('gateway', 'Gateways (uWS, client connections)', [
    ...gwThroughput,
    figureConstraint('memory', load.connections_peak, 'connections', f.connections_per_gib, 'connections_per_gib', (x) => x.value * m.gateway_connection_memory_gib, 1),
    modelConstraint('network', gatewayEgressBitsPerS, 'bit/s', m.gateway_nic_bits_per_s, m.gateway_nic_bits_per_s * util, 'model: gateway_nic_bits_per_s'),
  ], stateless, statelessText, [
    'Throughput counts every device delivery (and presence notification) as a whole 1:1 message, as the measured runs carry them.',
    'Heartbeats are not in the throughput sizing: uWS answers pings natively and no run has measured their cost.',
  ]);

  const chatMeasured = figureConstraint('throughput', load.chat_msg_equivalents_per_s_peak, 'msg-equivalents/s', f.chat_msgs_per_s_at_p99, 'chat_msgs_per_s_at_p99', (x) => x.value, util);
  let chatThroughput: Constraint[];
  if (perCore) {
    const per = f.chat_cpu_us_per_msg ? chatCpuPerMsg(f.chat_cpu_us_per_msg, f.chat_coordination_ratio) : null;
    chatThroughput = [
      perCoreConstraint(load.chat_msg_equivalents_per_s_peak, per?.us_per_msg ?? null,
        f.chat_cpu_us_per_msg ? `${f.chat_cpu_us_per_msg.source}${f.chat_coordination_ratio ? ` / ${f.chat_coordination_ratio.source}` : ''}` : 'chat_cpu_us_per_msg',
        m, util, per?.note ?? 'chat CPU per message not measured', scaling),
      ...(chatMeasured.nodes !== null ? [shownOnly(chatMeasured, cpus!, m.node_cores)] : []),
    ];
  } else {
    chatThroughput = [chatMeasured, ...[chatCpuConstraint(load.chat_msg_equivalents_per_s_peak, f, cpus, util)].filter((c): c is Constraint => c !== null)];
  }
  const chatTier = tier('chat', 'Chat-service nodes (order, persist, fan out)', chatThroughput, stateless, statelessText, [
    'The throughput row is the rate one chat node held with no other chat node running: the coordination cost of N nodes is not in it ' +
      '(it is in the CPU-bound row, when measured).',
  ]);
  const chat = opts.chat_facts === false ? chatTier : withChatFacts(chatTier, util, load.sends_per_s_peak);

  const standingBytes = load.message_store_physical_bytes_standing + load.user_data_physical_bytes;
  const storeFigure = f.store_writes_per_s;
  const storeIsScylla = storeFigure !== undefined && /scylla|cassandra/i.test(storeFigure.engine ?? '');
  const scyllaNotes = ['Reads (history, drains) are not modelled; writes and disk are.'];
  const writes = figureConstraint('writes', load.store_replica_writes_per_s_peak, 'replica writes/s', storeIsScylla ? storeFigure : undefined,
    'store_writes_per_s', (x) => x.value, util);
  const scyllaConstraints = [writes];
  const storeCpu = f.store_cpu_us_per_msg;
  if (storeCpu && !storeIsScylla) {
    // No ScyllaDB write rate, but a per-replica CPU per message on Cassandra: the writes row becomes CPU-bound.
    const demand = load.sends_per_s_peak * m.replication_factor;
    const capacity = (m.store_node_cores * 1e6) / storeCpu.value;
    scyllaConstraints[0] = {
      name: 'writes (CPU-bound)', demand, demand_unit: 'msg-replicas/s', capacity_per_node: capacity, usable_per_node: capacity * util,
      basis: 'cpu-extrapolated', source: storeCpu.source, nodes: Math.ceil(demand / (capacity * util)), kind: 'main',
      note: `${m.store_node_cores} cores (store_node_cores) fully busy at ${storeCpu.value.toFixed(0)} us per message per replica. ${storeCpu.note ?? ''}`.trim(),
    };
    scyllaNotes.push('Writes: every send stored on replication_factor replicas at the measured store CPU per message (a chat node\'s tick: lookup, ' +
      'commit, watermarks). Group inbox rows per member and offline-queue writes are not in that figure.');
  }
  if (storeFigure && !storeIsScylla) {
    const standIn = figureConstraint('writes (stand-in)', load.store_replica_writes_per_s_peak, 'replica writes/s', storeFigure, 'store_writes_per_s', (x) => x.value, util);
    scyllaConstraints.push({ ...standIn, kind: 'stand-in' });
    scyllaNotes.push(`The only store write figure was measured on ${storeFigure.engine ?? 'another engine'}, not ScyllaDB: shown as a stand-in, not used. ` +
      'A ScyllaDB (or Cassandra) run gives the real one.');
  }
  const prekeys = f.store_prekey_takes_per_s;
  if (prekeys && /scylla|cassandra/i.test(prekeys.engine ?? '')) {
    scyllaConstraints.push(figureConstraint('prekey takes (LWT)', load.prekey_takes_per_s_peak * m.replication_factor, 'replica takes/s', prekeys, 'store_prekey_takes_per_s', (x) => x.value, util));
  } else {
    scyllaNotes.push(`Prekey fetches (${Math.round(load.prekey_takes_per_s_peak)} one-time prekey takes/s at the peak, one LWT each) are not sized: ` +
      (prekeys ? `the only figure was measured on ${prekeys.engine ?? 'another engine'}. ` : '') + 'make bench-e2ee ARGS="--cassandra --json FILE" measures them.');
  }
  scyllaConstraints.push(modelConstraint('disk', standingBytes, 'B', m.store_node_disk_bytes, m.store_node_disk_bytes * m.store_disk_fill_max_share, 'model: store_node_disk_bytes'));
  if (m.replication_factor < m.zones) scyllaNotes.push(`replication_factor ${m.replication_factor} < zones ${m.zones}: a zone loss makes some data unavailable.`);
  const scylla = tier('scylla', 'ScyllaDB nodes (message store)', scyllaConstraints,
    (r) => replicatedHeadroom(r, m.zones), `${m.zones} racks x ceil(N / ${m.zones}) (policy: a replica per zone absorbs a node or zone loss)`, scyllaNotes);

  const replicas = m.redis_replicas_per_primary;
  const redis = tier('redis', 'Redis (routes, presence)', [
    figureConstraint('ops', load.redis_ops_per_s_peak, 'ops/s', f.redis_ops_per_s, 'redis_ops_per_s', (x) => x.value, util),
    modelConstraint('memory', load.redis_route_bytes, 'B', m.redis_node_memory_gib * BYTES_PER_GIB, m.redis_node_memory_gib * BYTES_PER_GIB, 'model: redis_node_memory_gib'),
  ], (r) => r * (1 + replicas), `policy: primaries x (1 + ${replicas} replica${replicas === 1 ? '' : 's'}) in other zones`, REDIS_NOTES);

  const mediaBits = toBits(load.media_upload_bytes_per_s_peak + load.media_download_bytes_per_s_peak);
  const media = tier('media', 'Media nodes (the gateway process serving uploads and downloads, behind the same load balancer)', [
    // On a profile of another size, its cores through the same USL as the gateways' (the same process).
    mediaCpuConstraint(load, f, perCore ? Number(effectiveCores(m.node_cores, scaling.sigma, scaling.kappa).toFixed(2)) : cpus, util),
    modelConstraint('network', mediaBits, 'bit/s', m.gateway_nic_bits_per_s, m.gateway_nic_bits_per_s * util, 'model: gateway_nic_bits_per_s'),
  ], stateless, statelessText, [
    'Sized apart from the message gateways: both are the gateway process, but media bytes and message frames compete for the same cores, ' +
      'so a deployment runs a media pool (WhatsApp serves media from its own hosts); the blob store behind it is not sized here.',
  ]);

  const gatewayCount = gateway.nodes;
  const network: NetworkProjection = {
    client_ingress_bits_per_s_peak: toBits(load.gateway_ingress_bytes_per_s_peak),
    client_egress_bits_per_s_peak: gatewayEgressBitsPerS,
    media_bits_per_s_peak: toBits(load.media_upload_bytes_per_s_peak + load.media_download_bytes_per_s_peak),
    internal_rpc_bits_per_s_peak: (load.sends_per_s_peak + load.device_deliveries_per_s_peak) *
      (m.message_bytes + m.envelope_bytes_per_message + m.e2e_overhead_bytes_per_message) * BITS_PER_BYTE,
    store_replication_bits_per_s_peak: load.sends_per_s_peak * load.stored_message_bytes * m.replication_factor * BITS_PER_BYTE,
    gateway_nic_share_peak: gatewayCount ? gatewayEgressBitsPerS / gatewayCount / m.gateway_nic_bits_per_s : null,
  };
  const notes: string[] = [];
  if (perCore) {
    notes.push(`A gateway or chat node has ${m.node_cores} cores (node_cores); the measured machine had ${cpus}, shared by the whole system and the load generator. ` +
      'Their throughput is the measured CPU per message per core times the cores the USL lets count; the measured rates are shown, not used. ' +
      `Weakest link: the USL over cores, sigma ${Number(scaling.sigma.toPrecision(3))} and kappa ${Number(scaling.kappa.toPrecision(3))} (${scaling.from}): ` +
      `nothing here ran more than ${cpus} processes at once on their own cores.`);
  } else if (cpus) notes.push(`A node is a machine like the measured one: ${cpus} cores${measured.machine?.hostname ? ` (${measured.machine.hostname})` : ''}.`);
  else notes.push('The measured machine is not recorded: node counts are per machine of unknown size, the CPU-bound column per core.');
  return { tiers: [gateway, chat, scylla, redis, media], network, node_cpus: cpus, notes };
}
