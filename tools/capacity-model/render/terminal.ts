// The report for a terminal: sections as aligned text tables, without the
// widest columns (their content is in the Markdown file beside it).
import type { CapacityReport } from '../report';
import { reportSections, type Table } from './sections';
import { textTable } from './table';

function narrow(t: Table): Table {
  const hide = new Set(t.terminal_hides ?? []);
  const keep = (cells: string[]) => cells.filter((_, i) => !hide.has(i));
  return { headers: keep(t.headers), rows: t.rows.map(keep), align: t.align ? t.align.filter((_, i) => !hide.has(i)) : undefined };
}

export function renderTerminal(r: CapacityReport): string {
  const out: string[] = [];
  out.push(`capacity model: ${r.changed_parameters.length === 0 ? 'seed defaults' : `changed ${r.changed_parameters.join(', ')}`}`);
  for (const s of reportSections(r)) {
    if (s.markdown_only) continue;
    out.push('', `== ${s.title}`);
    for (const p of s.paragraphs) out.push(`  ${p}`);
    for (const t of s.tables) {
      const n = narrow(t);
      out.push('', ...textTable(n.headers, n.rows, n.align));
    }
    if (s.bullets.length > 0) out.push('', ...s.bullets.map((b) => `  - ${b}`));
  }
  return out.join('\n');
}
