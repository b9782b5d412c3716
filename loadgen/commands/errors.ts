// The command line's refusals: both exit 104 (k6's "invalid config") before
// anything starts; a UsageError also prints the usage.
export const EXIT_INVALID_CONFIG = 104;

/** The command line is wrong (unknown flag value, missing argument, no such scenario). */
export class UsageError extends Error {}

/** The scenario or the options are invalid (found before anything started). */
export class ConfigError extends Error {}
