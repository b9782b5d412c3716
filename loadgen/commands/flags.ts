// The command line's flag tables: one table per command, from which both the
// parser (node:util parseArgs options) and the command's --help text are
// made, so the help cannot miss or misname a flag the parser takes
// (test/loadgen-cli-flags.test.ts checks it). A parse failure (an unknown
// flag, a missing value, a stray positional) becomes a UsageError carrying
// that command's usage: exit 104, like k6's invalid configuration.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors';

export interface FlagSpec {
  name: string;
  type: 'string' | 'boolean';
  /** The value's placeholder in the help (string flags). */
  value?: string;
  /** Default as parseArgs applies it (shown in the help). */
  default?: string | boolean;
  short?: string;
  help: string;
  /** Internal plumbing between our own processes: parsed, listed under "internal" in the help. */
  internal?: boolean;
}

export interface CommandSpec {
  name: string;
  /** What follows `loadgen <name>` besides flags. */
  args: string;
  summary: string;
  /** Paragraphs after the flags (exit codes, notes). */
  notes: string[];
  flags: FlagSpec[];
}

export const HELP_FLAG: FlagSpec = { name: 'help', short: 'h', type: 'boolean', help: 'print this help and exit 0' };

export interface ParsedFlags {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** parseArgs options of a command, straight from its table. */
export function parseOptionsOf(cmd: CommandSpec): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const f of cmd.flags) {
    options[f.name] = { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.default !== undefined ? { default: f.default } : {}) };
  }
  return options;
}

/** Parses argv against the command's table; any refusal is a UsageError with the command's help. */
export function parseCommand(cmd: CommandSpec, argv: string[]): ParsedFlags {
  try {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: parseOptionsOf(cmd) });
    return { values: values as ParsedFlags['values'], positionals };
  } catch (err) {
    const e = err as Error & { code?: string };
    if (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS_')) {
      // parseArgs appends advice on positionals starting with '-'; the first sentence names the problem.
      throw new UsageError(`${cmd.name}: ${e.message.split('. To specify')[0]!.split('\n')[0]}`, helpText(cmd));
    }
    throw err;
  }
}

/** The one-line synopsis of a command. */
export function synopsisOf(cmd: CommandSpec): string {
  return `usage: loadgen ${cmd.name} ${cmd.args} [flags]`.replace('  ', ' ');
}

/** `loadgen <cmd> --help`: synopsis, every flag of the table with its value, default and meaning, then the notes. */
export function helpText(cmd: CommandSpec): string {
  const label = (f: FlagSpec): string =>
    `${f.short ? `-${f.short}, ` : ''}--${f.name}${f.type === 'string' ? ` <${f.value ?? 'value'}>` : ''}`;
  const width = Math.min(40, Math.max(...cmd.flags.map((f) => label(f).length)) + 2);
  const line = (f: FlagSpec): string => {
    const dflt = f.default !== undefined && f.default !== false ? ` (default: ${f.default})` : '';
    return `  ${label(f).padEnd(width)}${f.help}${dflt}`;
  };
  const out = [synopsisOf(cmd), '', cmd.summary, '', 'flags:'];
  out.push(...cmd.flags.filter((f) => !f.internal).map(line));
  const internal = cmd.flags.filter((f) => f.internal);
  if (internal.length > 0) out.push('', 'internal (set by loadgen for its own child processes):', ...internal.map(line));
  for (const n of cmd.notes) out.push('', n);
  return out.join('\n');
}
