// The report as Markdown (results/<id>/capacity.md): every section and column,
// the USL chart linked when there is one.
import type { CapacityReport } from '../report';
import { reportSections } from './sections';
import { markdownTable } from './table';

export function renderMarkdown(r: CapacityReport, uslChartFile: string | null): string {
  const out: string[] = ['# Capacity model', '', `Generated ${r.generated_at}.`];
  if (r.changed_parameters.length > 0) out.push('', `Changed from the seed defaults: ${r.changed_parameters.map((p) => `\`${p}\` = ${r.model[p]}`).join(', ')}.`);
  for (const s of reportSections(r)) {
    out.push('', `## ${s.title}`, '');
    for (const p of s.paragraphs) out.push(p, '');
    if (s.title === 'Universal Scalability Law' && uslChartFile) out.push(`![USL fit](${uslChartFile})`, '');
    for (const t of s.tables) out.push(...markdownTable(t.headers, t.rows, t.align), '');
    if (s.bullets.length > 0) out.push(...s.bullets.map((b) => `- ${b}`), '');
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}
