// The code's shape, measured: lines per top-level folder, files over the size
// limit, functions over the length limit. test/architecture.test.ts asserts the
// limits; `node dist/scripts/code-shape.js` prints the figures (the closing
// notes of restructuring work quote them).
//   node dist/scripts/code-shape.js [--functions-over 70] [--files-over 500]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ts from 'typescript';
import { REPO_ROOT } from '../server/common/paths';

/** A source file may hold this many lines (STYLE: small modules with one job each). */
export const SOURCE_FILE_LINES_MAX = 500;
/** A function on the hot path may span this many lines. */
export const HOT_FUNCTION_LINES_MAX = 70;
/** The folders whose code counts (the card's top level plus what the project added). */
export const CODE_FOLDERS = ['lib', 'server', 'proto', 'deploy', 'loadgen', 'tools', 'scenarios', 'dashboards', 'bench', 'scripts', 'test'];
const CODE_FILE_RE = /\.(ts|mjs|js|cjs|sh|proto|jsonnet|libsonnet)$/;

/** Tracked (and new, not ignored) files of the repository under `folders`. */
export function codeFiles(folders = CODE_FOLDERS, re = CODE_FILE_RE): string[] {
  const list = (args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  const files = new Set([...list(['ls-files', '--', ...folders]), ...list(['ls-files', '--others', '--exclude-standard', '--', ...folders])]);
  return [...files].filter((f) => re.test(f)).sort();
}

export function lineCount(file: string): number {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  return text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

export function linesPerFolder(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of codeFiles()) {
    const top = f.split('/')[0]!;
    out[top] = (out[top] ?? 0) + lineCount(f);
  }
  return out;
}

export interface FunctionSpan {
  file: string;
  /** Class.method, function name, or `<arrow>@line` for anonymous functions. */
  name: string;
  line: number;
  lines: number;
}

/** Every function, method, constructor and arrow function in a TypeScript file, with its span in lines. */
export function functionSpans(file: string): FunctionSpan[] {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const out: FunctionSpan[] = [];
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1;
  const visit = (node: ts.Node, owner: string) => {
    let name: string | null = null;
    if (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) {
      name = node.name ? node.name.getText(sf) : '<anonymous>';
    } else if (ts.isConstructorDeclaration(node)) {
      name = 'constructor';
    } else if (ts.isArrowFunction(node) || ts.isFunctionExpression(node)) {
      const parent = node.parent;
      name = parent && (ts.isVariableDeclaration(parent) || ts.isPropertyDeclaration(parent) || ts.isPropertyAssignment(parent))
        ? parent.name.getText(sf)
        : `<arrow>@${lineOf(node.getStart(sf))}`;
    }
    if (name !== null && 'body' in node && (node as ts.FunctionLikeDeclarationBase).body) {
      const start = lineOf(node.getStart(sf));
      const end = lineOf(node.getEnd());
      out.push({ file, name: owner ? `${owner}.${name}` : name, line: start, lines: end - start + 1 });
    }
    const nextOwner = ts.isClassDeclaration(node) && node.name ? node.name.getText(sf) : owner;
    ts.forEachChild(node, (child) => visit(child, nextOwner));
  };
  visit(sf, '');
  return out;
}

function main(): void {
  const { values } = parseArgs({ options: { 'functions-over': { type: 'string' }, 'files-over': { type: 'string' } } });
  const fnMax = Number(values['functions-over'] ?? HOT_FUNCTION_LINES_MAX);
  const fileMax = Number(values['files-over'] ?? SOURCE_FILE_LINES_MAX);
  const perFolder = linesPerFolder();
  console.log('lines per top-level folder:');
  for (const [folder, lines] of Object.entries(perFolder).sort((a, b) => b[1] - a[1])) console.log(`  ${folder.padEnd(12)} ${String(lines).padStart(7)}`);
  console.log(`  ${'total'.padEnd(12)} ${String(Object.values(perFolder).reduce((a, b) => a + b, 0)).padStart(7)}`);
  const ts_ = codeFiles(CODE_FOLDERS, /\.ts$/);
  const big = ts_.map((f) => ({ f, n: lineCount(f) })).filter((x) => x.n > fileMax).sort((a, b) => b.n - a.n);
  console.log(`\nTypeScript files over ${fileMax} lines: ${big.length}`);
  for (const { f, n } of big) console.log(`  ${String(n).padStart(5)}  ${f}`);
  const long = ts_.filter((f) => !f.startsWith('test/')).flatMap(functionSpans).filter((s) => s.lines > fnMax).sort((a, b) => b.lines - a.lines);
  console.log(`\nfunctions over ${fnMax} lines outside test/: ${long.length}`);
  for (const s of long) console.log(`  ${String(s.lines).padStart(5)}  ${s.file}:${s.line} ${s.name}`);
}

if (require.main === module) main();
