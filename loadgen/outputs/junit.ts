// junit.xml: one test case per threshold (k6's JUnit summary convention), so
// CI systems show "delivery_latency p(99)<100" as a passed or failed test.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { escapeMarkup } from './escape';
import type { Output } from '../engine/output';
import type { RunSummary } from '../engine/summary';

export const JUNIT_XML = 'junit.xml';

const esc = escapeMarkup;

/** A JUnit document of one suite around its already rendered <testcase> elements. */
export function junitDocument(suite: string, cases: string[], failures: number, seconds: string, timestamp: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${cases.length}" failures="${failures}" time="${seconds}">`,
    `  <testsuite name="${esc(suite)}" tests="${cases.length}" failures="${failures}" errors="0" time="${seconds}" timestamp="${esc(timestamp)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

export function renderJunit(summary: RunSummary): string {
  const results = summary.thresholds.results;
  const failures = results.filter((r) => !r.ok).length;
  const seconds = (summary.phases.measured_ms / 1000).toFixed(3);
  const suite = `loadgen.${summary.scenario.name}`;
  const cases = results.map((r) => {
    const name = esc(`${r.metric} ${r.source}`);
    const body = r.ok ? '' : `\n      <failure message="${esc(`${r.metric} ${r.source} failed: was ${r.actual}`)}" type="threshold"/>\n    `;
    return `    <testcase classname="${esc(suite)}" name="${name}" time="${seconds}">${body}</testcase>`;
  });
  if (summary.aborted) {
    cases.push(`    <testcase classname="${esc(suite)}" name="run completed" time="${seconds}">\n      <failure message="${esc(`aborted: ${summary.aborted.reason}`)}" type="aborted"/>\n    </testcase>`);
  }
  return junitDocument(suite, cases, failures + (summary.aborted ? 1 : 0), seconds, summary.started_at);
}

export const junitOutput: Output = {
  name: 'junit',
  end: (summary, outDir) => writeFileSync(join(outDir, JUNIT_XML), renderJunit(summary)),
};
