// Failure what-if: a gateway, a zone, or every gateway at once goes away and
// its clients come back. How long until the survivors have re-accepted them,
// given the reconnect rate one gateway was measured to accept (through the
// load balancer when its ratio is measured)? Clients spread their retries over
// a jittered window, so recovery is never quicker than that window; the accept
// rate makes it slower when the survivors are too few. And a chat node (or a
// zone's share of them) goes away: its partitions are unserved for the measured
// failover time (./chat-failure.ts).
//
// Not included: draining the messages queued while the users were away (a
// reconnect-flood run measures that), TLS handshakes (this code has none: see
// the notes), and detection time (heartbeat timeout) before clients notice.
import type { FleetModel } from './fleet-model';
import type { Load } from './load';
import { chatFailureCases, type ChatFailureCase } from './chat-failure';
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
  /** Accepts/s per gateway the what-if uses: through the load balancer when its ratio is measured. */
  reconnect_accept_per_s: number | null;
  reconnect_source: string | null;
  /** Where that rate was measured: through the load balancer, or straight to a gateway. */
  reconnect_path: 'load balancer' | 'direct' | null;
  chat_cases: ChatFailureCase[];
  error_budget_s_per_year: number;
  cases: FailureCase[];
  notes: string[];
}

export function failureWhatIf(m: FleetModel, load: Load, fleet: FleetProjection, measured: Measurements): FailureWhatIf {
  const gatewayTier = fleet.tiers.find((t) => t.tier === 'gateway')!;
  const gateways = gatewayTier.nodes;
  const figure = measured.figures.reconnect_accept_per_s;
  const viaLb = measured.figures.reaccept_via_lb_ratio;
  const rate = figure ? figure.value * (viaLb?.value ?? 1) : null;
  const path = figure ? (viaLb ? 'load balancer' as const : 'direct' as const) : null;
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
  else if (path === 'direct') {
    notes.push('The accept rate was measured straight to a gateway; through the load balancer it is not measured ' +
      '(bench/reaccept.ts --json gives reaccept_via_lb_ratio): the gateway rows leave the load balancer out.');
  }
  notes.push('Draining offline queues after reconnect and detection time are not included. Nor is TLS: this code has none ' +
    '(the gateway\'s uWS build has no TLS and the topology\'s HAProxy listens on plain HTTP); a production load balancer would terminate it.');
  const chat = chatFailureCases(m, fleet, measured, budgetS, cases.find((c) => c.id === 'zone') ?? null);
  return {
    gateways, gateways_complete: gatewayTier.complete, reconnect_accept_per_s: rate,
    reconnect_source: figure
      ? (viaLb ? `${figure.value.toFixed(0)} conns/s straight, ${figure.source} (${figure.basis}) x ${viaLb.value.toFixed(2)}, ${viaLb.source}` : `${figure.source} (${figure.basis})`)
      : null,
    reconnect_path: path, chat_cases: chat.cases,
    error_budget_s_per_year: budgetS, cases, notes: [...notes, ...chat.notes],
  };
}
