// Loads uWebSockets.js's NATIVE binding, or fails loudly.
//
// The package we use (@trufflesuite/uws-js-unofficial, installed under the
// alias `uWebSockets.js`) quietly falls back to a pure-JS implementation built
// on `ws` when its binary does not load, which would make every figure we
// measure a lie. So we never go through its index: we require the .node
// binary for this platform and ABI directly, and refuse to run otherwise.
import { dirname, join } from 'node:path';
import type * as UwsTypes from 'uWebSockets.js';
import { uwsFallbackRequested } from '../common/config';

export type Uws = typeof UwsTypes;

export interface NativeUws {
  uws: Uws;
  /** Absolute path of the loaded .node binary (reported by /healthz and tested). */
  binaryPath: string;
}

let loaded: NativeUws | null = null;

export function loadNativeUws(): NativeUws {
  if (loaded) return loaded;
  if (uwsFallbackRequested()) {
    throw new Error('UWS_USE_FALLBACK is set: refusing to run the gateway on the pure-JS uWS fallback (unset it)');
  }
  const pkgDir = dirname(require.resolve('uWebSockets.js/package.json'));
  const binaryPath = join(pkgDir, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  let uws: Uws;
  try {
    uws = require(binaryPath) as Uws;
  } catch (err) {
    throw new Error(
      `the native uWebSockets.js binding did not load (${binaryPath}): ${(err as Error).message}. ` +
        `This build ships binaries for Node ABIs 93/108/115 (Node 16/18/20); use Node 20.`,
    );
  }
  if (typeof uws.App !== 'function' || typeof uws.us_socket_local_port !== 'function') {
    throw new Error(`${binaryPath} loaded but does not look like the uWS native binding`);
  }
  loaded = { uws, binaryPath };
  return loaded;
}
