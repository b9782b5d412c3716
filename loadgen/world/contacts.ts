// The 1:1 side of a world: who writes to whom. User u of the slice writes to
// contactsPerUser contacts u + offsets[j] (mod n), all distinct and != u,
// spread over the slice; it takes them in turn (a cursor per sender), so every
// chat gets an equal share and all are opened after contactsPerUser sends.
// Messages from u to its contact j form tracker stream u * contactsPerUser + j.
export class Contacts {
  readonly perUser: number;
  /** Tracker streams of the 1:1 chats: [0, streams); group streams follow. */
  readonly streams: number;
  private readonly offsets: Int32Array;
  private readonly cursor: Uint8Array;

  constructor(readonly n: number, contactsPerUser: number) {
    this.perUser = contactsPerUser;
    this.streams = n * contactsPerUser;
    const stride = Math.max(1, Math.floor((n - 1) / contactsPerUser));
    this.offsets = Int32Array.from({ length: contactsPerUser }, (_, j) => 1 + j * stride);
    this.cursor = new Uint8Array(n);
  }

  /** The contact index user u writes to next (round robin per sender). */
  next(u: number): number {
    const j = this.cursor[u]!;
    this.cursor[u] = j + 1 === this.perUser ? 0 : j + 1;
    return j;
  }

  streamOf(sender: number, j: number): number {
    return sender * this.perUser + j;
  }

  senderOf(stream: number): number {
    return Math.floor(stream / this.perUser);
  }

  /** The recipient of 1:1 stream `stream` (< streams). */
  recipientOf(stream: number): number {
    const sender = Math.floor(stream / this.perUser);
    return (sender + this.offsets[stream - sender * this.perUser]!) % this.n;
  }
}
