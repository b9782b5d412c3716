// Loading and checking a fleet model: the defaults of tools/capacity-model/fleet-model.ts,
// a compiled model module or a JSON file of overrides (--model), and single
// overrides (--set name=value). A model with an unknown name, a missing
// parameter or a value outside its documented range is refused, with the name.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  FLEET_MODEL_PARAMETERS,
  FLEET_PARAMETER_NAMES,
  SEED_FLEET_MODEL,
  type FleetModel,
  type FleetParameter,
} from './fleet-model';

export function isFleetParameter(name: string): name is FleetParameter {
  return Object.prototype.hasOwnProperty.call(FLEET_MODEL_PARAMETERS, name);
}

/** Throws on the first parameter that is missing, not a finite number, or out of its documented range. */
export function validateFleetModel(model: Record<string, unknown>): FleetModel {
  for (const name of Object.keys(model)) {
    if (!isFleetParameter(name)) throw new Error(`fleet model: unknown parameter "${name}"`);
  }
  for (const name of FLEET_PARAMETER_NAMES) {
    const value = model[name];
    const doc = FLEET_MODEL_PARAMETERS[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`fleet model: ${name} must be a finite number`);
    if (value < doc.min || value > doc.max) {
      throw new Error(`fleet model: ${name} = ${value} is outside [${doc.min}, ${doc.max}] ${doc.unit}`);
    }
  }
  const m = model as FleetModel;
  if (m.group_members_mean > m.group_members_max) {
    throw new Error(`fleet model: group_members_mean (${m.group_members_mean}) exceeds group_members_max (${m.group_members_max})`);
  }
  return m;
}

/** `--model`: a compiled module (default export or `fleetModel`) or a JSON object of overrides. */
export function loadFleetModel(path?: string): FleetModel {
  if (!path) return { ...SEED_FLEET_MODEL };
  const full = resolve(path);
  let loaded: unknown;
  if (full.endsWith('.json')) {
    loaded = JSON.parse(readFileSync(full, 'utf8'));
  } else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(full) as Record<string, unknown>;
    loaded = mod.fleetModel ?? mod.default ?? mod.SEED_FLEET_MODEL;
  }
  if (typeof loaded !== 'object' || loaded === null) throw new Error(`${path}: no fleet model (expected an object)`);
  // A model file may give only the parameters it changes; the rest keep the seed defaults.
  return validateFleetModel({ ...SEED_FLEET_MODEL, ...(loaded as Record<string, unknown>) });
}

/** `--set name=value` overrides, applied in order, then the whole model re-checked. */
export function applyOverrides(model: FleetModel, assignments: readonly string[]): FleetModel {
  const out: Record<string, unknown> = { ...model };
  for (const assignment of assignments) {
    const m = /^([a-z0-9_]+)=(.+)$/.exec(assignment.trim());
    if (!m) throw new Error(`--set ${assignment}: expected name=value`);
    const [, name, raw] = m;
    if (!isFleetParameter(name!)) throw new Error(`--set ${assignment}: unknown parameter "${name}" (see --list-parameters)`);
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new Error(`--set ${assignment}: "${raw}" is not a number`);
    out[name!] = value;
  }
  return validateFleetModel(out);
}

/** Parameters whose value differs from the seed defaults (the report lists them). */
export function changedParameters(model: FleetModel): FleetParameter[] {
  return FLEET_PARAMETER_NAMES.filter((name) => model[name] !== SEED_FLEET_MODEL[name]);
}
