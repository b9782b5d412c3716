// A report section: a title, paragraphs, tables and bullets, already worded.
// Every renderer (terminal, Markdown, HTML) lays these out; ./sections.ts and
// ./architect-sections.ts build them.
import type { Align } from './table';

export interface Table {
  headers: string[];
  rows: string[][];
  align?: Align[];
  /** Columns the terminal leaves out (too wide); Markdown shows all. */
  terminal_hides?: number[];
}

export interface Section {
  title: string;
  paragraphs: string[];
  tables: Table[];
  bullets: string[];
  /** Only in Markdown (the full parameter list would drown the terminal). */
  markdown_only?: boolean;
}
