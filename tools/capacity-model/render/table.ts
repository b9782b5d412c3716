// Plain tables for the terminal and for Markdown. Cells are strings already
// formatted with their units; numbers are right-aligned in the terminal.

export type Align = 'left' | 'right';

export function textTable(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (cell: string, i: number) => ((align[i] ?? 'left') === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!));
  const line = (cells: readonly string[]) => `  ${cells.map((c, i) => pad(c ?? '', i)).join('  ')}`.trimEnd();
  return [line(headers), `  ${widths.map((w) => '-'.repeat(w)).join('  ')}`, ...rows.map(line)];
}

const escapeCell = (cell: string): string => cell.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string[] {
  const rule = headers.map((_, i) => ((align[i] ?? 'left') === 'right' ? '---:' : '---'));
  return [
    `| ${headers.map(escapeCell).join(' | ')} |`,
    `| ${rule.join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`),
  ];
}
