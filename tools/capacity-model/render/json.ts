// The report as JSON (results/<id>/capacity.json). JSON has no Infinity or NaN:
// an unbounded value is written as the string "Infinity", a missing one as null.
import type { CapacityReport } from '../report';

export function renderJson(r: CapacityReport): string {
  return `${JSON.stringify(r, (_key, value: unknown) => {
    if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? null : value > 0 ? 'Infinity' : '-Infinity';
    return value;
  }, 2)}\n`;
}
