// --usl-points <file.json>: throughput-vs-concurrency points measured some
// other way (a closed-model ramping-vus run, where concurrency is the number of
// virtual users; or another system's numbers). Shape:
//   [{ "concurrency": 1, "throughput_per_s": 950 }, ...]  or  { "points": [ ... ] }
import { readFileSync } from 'node:fs';
import type { UslPoint } from '../measured';

export function readUslPoints(file: string): UslPoint[] {
  const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const list = Array.isArray(json) ? json : (json as { points?: unknown }).points;
  if (!Array.isArray(list)) throw new Error(`${file}: expected an array of {concurrency, throughput_per_s} (or {points: [...]})`);
  return list.map((p: Record<string, unknown>, i) => {
    const concurrency = p?.concurrency;
    const throughput = p?.throughput_per_s;
    if (typeof concurrency !== 'number' || !(concurrency > 0) || typeof throughput !== 'number' || !(throughput >= 0)) {
      throw new Error(`${file}: point ${i} needs concurrency > 0 and throughput_per_s >= 0`);
    }
    return { concurrency, throughput_per_s: throughput, source: `${file}#${i}`, concurrency_from: 'given' as const };
  });
}
