// Who the simulated users are on the target: user i's id (for sends and
// group members) and the token its connection presents. Either minted from
// the target's HMAC secret (ids userBase + i, no registration storm: the
// systems the generator starts itself, or a lab that shares its secret), or
// listed (ids and tokens from a token file or from registering). The plain
// object crosses to the worker threads; UserDirectory answers per index.
import { mintToken } from '../../server/common/token';

export type Identities =
  | { kind: 'minted'; secret: string; userBase: number }
  | { kind: 'listed'; ids: number[]; tokens: string[] };

/** Minted tokens live this long: longer than any run. */
const MINTED_TOKEN_TTL_SECONDS = 24 * 3600;

export class UserDirectory {
  constructor(private readonly identities: Identities) {}

  idOf(index: number): number {
    const d = this.identities;
    if (d.kind === 'minted') return d.userBase + index;
    const id = d.ids[index];
    if (id === undefined) throw new RangeError(`user index ${index} beyond the ${d.ids.length} listed users`);
    return id;
  }

  tokenOf(index: number): string {
    const d = this.identities;
    if (d.kind === 'minted') return mintToken(d.secret, d.userBase + index, MINTED_TOKEN_TTL_SECONDS);
    const token = d.tokens[index];
    if (token === undefined) throw new RangeError(`user index ${index} beyond the ${d.tokens.length} listed users`);
    return token;
  }
}
