// SIGINT and SIGTERM as k6 treats an external abort: the first one asks the
// run to stop gracefully (the engine ends the measured window, waits out the
// delivery grace, accounts for every iteration and writes the partial
// summary, then the CLI exits 105); a second one exits 105 at once.
import { EXIT_EXTERNALLY_ABORTED } from './errors';

export interface StopSignals {
  signal: AbortSignal;
  remove(): void;
}

export function installStopSignals(log: (line: string) => void): StopSignals {
  const controller = new AbortController();
  const on = (name: NodeJS.Signals) => () => {
    if (controller.signal.aborted) {
      log(`loadgen: ${name} again: stopping now, without a summary`);
      process.exit(EXIT_EXTERNALLY_ABORTED);
    }
    log(`loadgen: ${name}: stopping gracefully (the partial summary follows; ${name} again to stop at once)`);
    controller.abort(name);
  };
  const handlers = new Map<NodeJS.Signals, () => void>([['SIGINT', on('SIGINT')], ['SIGTERM', on('SIGTERM')]]);
  for (const [name, h] of handlers) process.on(name, h);
  return {
    signal: controller.signal,
    remove: () => {
      for (const [name, h] of handlers) process.off(name, h);
    },
  };
}
