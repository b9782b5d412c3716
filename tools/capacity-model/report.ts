// The capacity report: everything the command prints, as one value. Built from
// a fleet model and measurements, with no I/O, so tests check it directly and
// every renderer (terminal, Markdown, JSON, SVG) reads the same numbers.
import { FLEET_MODEL_PARAMETERS, type FleetModel, type FleetParameter, type ParameterDoc } from './fleet-model';
import { failureWhatIf, type FailureWhatIf } from './failure';
import { deriveLoad, type Load } from './load';
import type { Measurements, UslPoint } from './measured';
import { changedParameters } from './model';
import { listOmissions, type OmissionRow } from './omissions';
import { projectFleet, type FleetProjection } from './projection';
import { checkSeed, type SeedCheckRow } from './seed';
import { fitUsl, USL_DISTINCT_POINTS_MIN, type UslFit } from './usl';

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

export function buildReport(given: FleetModel, measured: Measurements, now = new Date()): CapacityReport {
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
  };
}

/** A measured ciphertext overhead (bench/e2ee.ts) replaces the model's assumed e2e_overhead_bytes_per_message everywhere it is used. */
export function withMeasuredBytes(model: FleetModel, measured: Measurements): FleetModel {
  const overhead = measured.figures.e2e_overhead_bytes_per_message;
  return overhead ? { ...model, e2e_overhead_bytes_per_message: overhead.value } : model;
}
