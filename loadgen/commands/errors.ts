// The command line's refusals: both exit 104 (k6's "invalid config") before
// anything starts; a UsageError also prints the usage (the command's own
// --help text when it knows the command).
export const EXIT_INVALID_CONFIG = 104;
/** k6's exit code for a run stopped from outside (SIGINT, SIGTERM): the partial summary is written first. */
export const EXIT_EXTERNALLY_ABORTED = 105;

/** The command line is wrong (unknown flag or flag value, missing argument, no such scenario). */
export class UsageError extends Error {
  /** The usage to print with it (a command's help); the general usage when absent. */
  constructor(message: string, readonly usage?: string) {
    super(message);
  }
}

/** The scenario or the options are invalid (found before anything started). */
export class ConfigError extends Error {}
