// Failure what-if: a gateway, a zone, or every gateway at once goes away and
// its clients come back. How long until the survivors have re-accepted them,
// given the reconnect rate one gateway was measured to accept? Clients spread
// their retries over a jittered window, so recovery is never quicker than that
// window; the accept rate makes it slower when the survivors are too few.
//
// Not included: draining the messages queued while the users were away (a
// reconnect-flood run measures that), TLS handshakes (terminated at the load
// balancer), and detection time (heartbeat timeout) before clients notice.
import type { FleetModel } from './fleet-model';
import type { Load } from './load';
import type { Measurements } from './measured';
import type { FleetProjection } from './projection';
import { DAYS_PER_YEAR, SECONDS_PER_DAY } from './units';

export interface FailureCase {
  id: 'gateway' | 'zone' | 'fleet';
  title: string;
  connections_lost: number;
  gateways_surviving: number | null;
  /** Accepts/s the surviving gateways can do together; null when not measured. */
  accept_per_s_total: number | null;
  /** Time bound by the accept rate alone. */
  capacity_bound_s: number | null;
  /** max(jitter window, capacity bound): the time to re-accept everyone. */
  recovery_s: number | null;
  /** Share of the year's availability error budget one such incident uses, if those users count as down. */
  error_budget_share: number | null;
}

export interface FailureWhatIf {
  gateways: number | null;
  gateways_complete: boolean;
  reconnect_accept_per_s: number | null;
  reconnect_source: string | null;
  error_budget_s_per_year: number;
  cases: FailureCase[];
  notes: string[];
}

export function failureWhatIf(m: FleetModel, load: Load, fleet: FleetProjection, measured: Measurements): FailureWhatIf {
  const gatewayTier = fleet.tiers.find((t) => t.tier === 'gateway')!;
  const gateways = gatewayTier.nodes;
  const figure = measured.figures.reconnect_accept_per_s;
  const rate = figure?.value ?? null;
  // A share of users down for t seconds costs share * t of the budget (user-weighted downtime).
  const budgetS = (1 - m.availability_target) * DAYS_PER_YEAR * SECONDS_PER_DAY;
  const build = (id: FailureCase['id'], title: string, lost: number, surviving: number | null): FailureCase => {
    const total = rate !== null && surviving !== null && surviving > 0 ? rate * surviving : null;
    const bound = total !== null ? lost / total : null;
    const recovery = bound !== null ? Math.max(m.reconnect_jitter_window_s, bound) : null;
    const share = recovery !== null ? (lost / load.connections_peak) * recovery / budgetS : null;
    return { id, title, connections_lost: lost, gateways_surviving: surviving, accept_per_s_total: total, capacity_bound_s: bound, recovery_s: recovery, error_budget_share: share };
  };
  const cases: FailureCase[] = [];
  if (gateways !== null) {
    cases.push(build('gateway', 'one gateway lost', load.connections_peak / gateways, gateways - 1));
    cases.push(build('zone', `one zone of ${m.zones} lost`, load.connections_peak / m.zones, Math.floor((gateways * (m.zones - 1)) / m.zones)));
    cases.push(build('fleet', 'every client reconnects at once (fleet-wide restart)', load.connections_peak, gateways));
  }
  const notes: string[] = [];
  if (gateways === null) notes.push('The gateway count is not projected (no measured gateway figure): no what-if.');
  else if (!gatewayTier.complete) notes.push('The gateway count is a floor (a gateway constraint is not measured).');
  if (rate === null) notes.push('Reconnect accept rate not measured: run `node dist/tools/capacity-model/probe.js` (or a reconnect-flood run), or pass --assume reconnect_accept_per_s=...');
  notes.push('Draining offline queues after reconnect, detection time and TLS (at the load balancer) are not included.');
  return {
    gateways, gateways_complete: gatewayTier.complete, reconnect_accept_per_s: rate, reconnect_source: figure ? `${figure.source} (${figure.basis})` : null,
    error_budget_s_per_year: budgetS, cases, notes,
  };
}
