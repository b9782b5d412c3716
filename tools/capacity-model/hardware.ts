// Hardware profiles: a fleet node described by its cores, memory, NIC, disk and
// monthly price, as a named set of fleet-model parameters (`--profile c32`,
// then `--set` for anything else). Per-node throughput on a profile whose core
// count differs from the measured machine comes from the measured CPU per
// message per core, times the cores a USL lets count:
//
//   effective_cores(C) = C / (1 + sigma (C-1) + kappa C (C-1))
//
// Envelope: 57.96 us per message on the gateway (the reference ramp) is 17.3k
// msgs/s per core; 32 cores at sigma 0.02 count as 20.8, so 359k msgs/s per node.
// The weakest link is that sigma: this box has 2 cores, so nothing here was
// measured past 2 processes running at once (see docs/design/020).
import type { FleetModel, FleetParameter } from './fleet-model';

export interface HardwareProfile {
  name: string;
  what: string;
  /** The fleet-model parameters the profile sets; everything else keeps the model's value. */
  parameters: Partial<Record<FleetParameter, number>>;
}

const GIB_OF = (total: number, reserved: number) => total - reserved;

/**
 * Named profiles. `measured` is the model's default: the 2-core VM every reference run was measured on.
 * Memory for connections and Redis is the node's memory less what the runtime and the OS need; prices
 * are on-demand list-price classes from memory (2024-26), never looked up: pass yours with --set.
 */
export const HARDWARE_PROFILES: readonly HardwareProfile[] = [
  {
    name: 'measured',
    what: 'the measured machine\'s cores (2 on the reference VM), 24 GiB, 10 Gbit/s; store node 12 cores, 7.5 TB NVMe (the model default)',
    parameters: {
      node_cores: 0, gateway_connection_memory_gib: GIB_OF(24, 8), redis_node_memory_gib: GIB_OF(24, 8),
      gateway_nic_bits_per_s: 10e9, store_node_disk_bytes: 7.5e12, store_node_cores: 12,
      gateway_node_usd_per_month: 100, chat_node_usd_per_month: 100, store_node_usd_per_month: 1_000, redis_node_usd_per_month: 150,
    },
  },
  {
    name: 'c32',
    what: '32 cores, 128 GiB, 25 Gbit/s; store node 24 cores, 15 TB NVMe (a large cloud instance)',
    parameters: {
      node_cores: 32, gateway_connection_memory_gib: GIB_OF(128, 32), redis_node_memory_gib: GIB_OF(128, 32),
      gateway_nic_bits_per_s: 25e9, store_node_disk_bytes: 15e12, store_node_cores: 24,
      gateway_node_usd_per_month: 1_100, chat_node_usd_per_month: 1_100, store_node_usd_per_month: 2_000, redis_node_usd_per_month: 800,
    },
  },
  {
    name: 'c64',
    what: '64 cores, 256 GiB, 50 Gbit/s; store node 48 cores, 30 TB NVMe',
    parameters: {
      node_cores: 64, gateway_connection_memory_gib: GIB_OF(256, 64), redis_node_memory_gib: GIB_OF(256, 64),
      gateway_nic_bits_per_s: 50e9, store_node_disk_bytes: 30e12, store_node_cores: 48,
      gateway_node_usd_per_month: 2_200, chat_node_usd_per_month: 2_200, store_node_usd_per_month: 4_000, redis_node_usd_per_month: 1_600,
    },
  },
];

export const PROFILE_NAMES = HARDWARE_PROFILES.map((p) => p.name);

export function hardwareProfile(name: string): HardwareProfile {
  const p = HARDWARE_PROFILES.find((x) => x.name === name);
  if (!p) throw new Error(`--profile ${name}: unknown profile; known: ${PROFILE_NAMES.join(', ')}`);
  return p;
}

/** The cores of a node: node_cores, or the measured machine's when it is 0 (null when that is unknown too). */
export function nodeCores(m: FleetModel, measuredCpus: number | null): number | null {
  return m.node_cores > 0 ? m.node_cores : measuredCpus;
}

/** The model with the profile's parameters in place (the caller re-validates). */
export function withProfile(model: FleetModel, profile: HardwareProfile): FleetModel {
  return { ...model, ...profile.parameters };
}

/** Cores that count under the USL: C / (1 + sigma (C-1) + kappa C (C-1)). */
export function effectiveCores(cores: number, sigma: number, kappa: number): number {
  if (!(cores >= 1) || sigma < 0 || kappa < 0) throw new Error(`effectiveCores: cores ${cores}, sigma ${sigma}, kappa ${kappa}`);
  return cores / (1 + sigma * (cores - 1) + kappa * cores * (cores - 1));
}
