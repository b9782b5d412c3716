// summary.json: the whole run, histograms encoded, so `loadgen merge` can
// rebuild exact percentiles from shards and the CI gate and the capacity
// model can read figures without re-running anything.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Output } from '../engine/output';
import { SUMMARY_JSON, type RunSummary } from '../engine/summary';

export function writeSummaryJson(summary: RunSummary, outDir: string): string {
  const file = join(outDir, SUMMARY_JSON);
  writeFileSync(file, JSON.stringify(summary, null, 1) + '\n');
  return file;
}

export const summaryJsonOutput: Output = {
  name: 'summary-json',
  end: (summary, outDir) => void writeSummaryJson(summary, outDir),
};
