// The capacity report: everything the command prints, as one value. Built from
// a fleet model and measurements, with no I/O, so tests check it directly and
// every renderer (terminal, Markdown, JSON, SVG) reads the same numbers.
import { FLEET_MODEL_PARAMETERS, type FleetModel, type FleetParameter, type ParameterDoc } from './fleet-model';
import { failureWhatIf, type FailureWhatIf } from './failure';
import { deriveLoad, type Load } from './load';
import type { Measurements, UslPoint } from './measured';
import { changedParameters } from './model';
import { listOmissions, type OmissionRow } from './omissions';
import { coreScaling, projectFleet, type FleetProjection } from './projection';
import { checkSeed, type SeedCheckRow } from './seed';
import { fitUsl, USL_DISTINCT_POINTS_MIN, type UslFit } from './usl';
import { fleetCost, type FleetCost } from './cost';
import { effectiveCores, HARDWARE_PROFILES, nodeCores, withProfile } from './hardware';
import { reconcile, type Reconciliation } from './reconcile';
import { sensitivity, totalNodes, type Sensitivity } from './sensitivity';
import { validateFleetModel } from './model';

/** One named hardware profile's fleet, beside the others (the model's other parameters as given). */
export interface ProfileFleet {
  profile: string;
  what: string;
  /** null: as the measured machine, which is not recorded. */
  node_cores: number | null;
  /** The cores that count under the USL over cores (as measured, or the model's assumption); null with node_cores. */
  effective_cores: number | null;
  /** True when the node is the measured machine's size: its measured rates apply, no USL over cores. */
  measured_rates: boolean;
  nodes: Record<string, number | null>;
  /** Per tier: false when its count is a floor. */
  tier_complete: Record<string, boolean>;
  complete: boolean;
  total_nodes: number;
  usd_per_month: number | null;
  usd_per_million_messages: number | null;
}

export interface UslSection {
  points: UslPoint[];
  fit: UslFit | null;
  /** Why there is no fit, when there is none. */
  reason: string | null;
}

export interface CapacityReport {
  generated_at: string;
  model: FleetModel;
  parameters: Record<FleetParameter, ParameterDoc>;
  changed_parameters: FleetParameter[];
  seed_check: SeedCheckRow[];
  load: Load;
  omissions: OmissionRow[];
  measured: Measurements;
  fleet: FleetProjection;
  usl: UslSection;
  failure: FailureWhatIf;
  /** The --profile the model was built from, if any. */
  profile: string | null;
  cost: FleetCost;
  profiles: ProfileFleet[];
  /** The USL over the cores of a node the profiles use. */
  core_scaling: { sigma: number; kappa: number; from: string };
  sensitivity: Sensitivity;
  reconciliation: Reconciliation;
}

function profileFleets(model: FleetModel, measured: Measurements): ProfileFleet[] {
  return HARDWARE_PROFILES.map((p) => {
    const m = validateFleetModel({ ...withProfile(model, p) });
    const fleet = projectFleet(m, deriveLoad(m), measured, { chat_facts: false });
    const cost = fleetCost(m, fleet);
    const cores = nodeCores(m, measured.machine?.cpus ?? null);
    const scaling = coreScaling(m, measured.figures);
    return {
      profile: p.name, what: p.what, node_cores: cores,
      // node_cores 0: the measured rates apply as they are, no USL over cores.
      effective_cores: cores === null ? null : m.node_cores === 0 ? cores : effectiveCores(cores, scaling.sigma, scaling.kappa),
      measured_rates: m.node_cores === 0 || m.node_cores === measured.machine?.cpus,
      nodes: Object.fromEntries(fleet.tiers.map((t) => [t.tier, t.nodes])),
      tier_complete: Object.fromEntries(fleet.tiers.map((t) => [t.tier, t.complete])),
      complete: fleet.tiers.every((t) => t.complete), total_nodes: totalNodes(fleet),
      usd_per_month: cost.usd_per_month, usd_per_million_messages: cost.usd_per_million_messages,
    };
  });
}

function uslSection(points: UslPoint[]): UslSection {
  if (points.length === 0) {
    return { points, fit: null, reason: 'no ramp in the results (a single-stage run has one point): pass a full-vs-bare --json file, a breakpoint run, or --usl-points' };
  }
  const distinct = new Set(points.map((p) => p.concurrency.toPrecision(6))).size;
  if (distinct < USL_DISTINCT_POINTS_MIN) {
    return { points, fit: null, reason: `${distinct} distinct concurrency level(s) in the results; the fit needs ${USL_DISTINCT_POINTS_MIN} (a ramp: full-vs-bare --json, a breakpoint run, or --usl-points)` };
  }
  return { points, fit: fitUsl(points), reason: null };
}

export function buildReport(given: FleetModel, measured: Measurements, now = new Date(), profile: string | null = null): CapacityReport {
  const model = withMeasuredBytes(given, measured);
  const load = deriveLoad(model);
  const fleet = projectFleet(model, load, measured);
  return {
    generated_at: now.toISOString(),
    model,
    parameters: { ...FLEET_MODEL_PARAMETERS },
    changed_parameters: changedParameters(model),
    seed_check: checkSeed(model),
    load,
    omissions: listOmissions(model, load, measured),
    measured,
    fleet,
    usl: uslSection(measured.usl_points),
    failure: failureWhatIf(model, load, fleet, measured),
    profile,
    cost: fleetCost(model, fleet),
    profiles: profileFleets(model, measured),
    core_scaling: coreScaling(model, measured.figures),
    sensitivity: sensitivity(model, measured),
    reconciliation: reconcile(model, load, measured, fleet),
  };
}

/** A measured ciphertext overhead (bench/e2ee.ts) replaces the model's assumed e2e_overhead_bytes_per_message everywhere it is used. */
export function withMeasuredBytes(model: FleetModel, measured: Measurements): FleetModel {
  const overhead = measured.figures.e2e_overhead_bytes_per_message;
  return overhead ? { ...model, e2e_overhead_bytes_per_message: overhead.value } : model;
}
