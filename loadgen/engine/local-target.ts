// The system a run measures when it is given no --target: started here (chat
// service and gateways on loopback, embedded store) by `loadgen run` or by the
// --procs parent, and what each of its processes cost over the measured
// window. Also the fresh range of user ids every run takes.
import { PROVISIONED_USER_ID_MIN } from '../../server/common/ids';
import { startSystem, type RunningSystem } from '../../deploy/local-system';
import type { SystemShape } from '../model/scenario';
import type { ProcessUsage } from './summary';

export interface LocalTarget {
  system: RunningSystem;
  /** The gateways' WebSocket URLs. */
  urls: string[];
  secret: string;
  /** The chat service's gRPC address (bulk provisioning). */
  chatTarget: string;
}

/** Start the system with `gateways` gateways and the scenario's limit overrides. */
export async function startLocalTarget(gateways: number, shape: SystemShape | undefined): Promise<LocalTarget> {
  const system = await startSystem({ gateways, env: shape?.env });
  return { system, urls: system.gatewayPorts.map((p) => `ws://127.0.0.1:${p}/v1/ws`), secret: system.secret, chatTarget: system.chatTarget };
}

/** Fresh users per run (repeated runs on one store must not see each other's chats): 10M ids per run slot. */
export function freshUserBase(): number {
  return PROVISIONED_USER_ID_MIN + Math.floor(Math.random() * 1_000_000) * 10_000_000;
}

/**
 * Each process's CPU from `cpuStart` to now over a measured window of
 * `measuredMs` (% of one core), its resident memory now, and as it was idle
 * (before the generator connected) and once connected.
 */
export function systemUsageSince(system: RunningSystem, cpuStart: Record<string, number>, measuredMs: number,
  rssIdle: Record<string, number | null> | null, rssConnected: Record<string, number | null> | null): Record<string, ProcessUsage> {
  const usage: Record<string, ProcessUsage> = {};
  const rss = system.rssBytes();
  for (const [name, cpu] of Object.entries(system.cpuSeconds())) {
    // A process restarted by a fault is a new process: its CPU counts from its start.
    const start = cpuStart[name] ?? cpu;
    const cpuS = cpu >= start ? cpu - start : cpu;
    usage[name] = {
      cpu_s: Math.round(cpuS * 100) / 100, cpu_percent: Math.round((cpuS / (measuredMs / 1000)) * 1000) / 10,
      rss_bytes: rss[name] ?? null, rss_idle_bytes: rssIdle?.[name] ?? null, rss_connected_bytes: rssConnected?.[name] ?? null,
    };
  }
  return usage;
}
