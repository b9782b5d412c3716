// Sender keys for groups (Signal's group messaging over libsignal): each
// sending device keeps one sender key per group epoch (a distribution id),
// hands its distribution message to every member device over the 1:1
// sessions, and then encrypts a group message ONCE for all members (one
// ciphertext, however many members: the server stores and fans out one body).
//
// Re-keying: when a member the current key was given to is no longer a member
// (removed, or left), the next send starts a new epoch with a new sender key
// given only to the remaining members. The removed member holds only the old
// epoch's key, so it cannot decrypt anything sent after (tested in
// test/e2ee-groups.test.ts). New members get the current key: they read from
// now on, not what was sent before they joined (the chain only ratchets forward).
import {
  CiphertextMessageType,
  SenderKeyDistributionMessage,
  groupDecrypt,
  groupEncrypt,
  processSenderKeyDistributionMessage,
} from '@signalapp/libsignal-client';
import { randomUUID } from 'node:crypto';
import { addressOf, own, type Ciphertext, type E2eeDevice } from './device';

interface Epoch {
  distributionId: string;
  /** Users the epoch's distribution message has been given to (the sender excluded). */
  given: Set<number>;
  /** The serialized distribution message (the same bytes go to every member). */
  distribution: Uint8Array;
}

export interface GroupSendPlan {
  /** Members who must receive `distribution` (over 1:1) before the group message. */
  recipients: number[];
  distribution: Uint8Array;
  /** True when this send started a new epoch (first send, or a member is gone). */
  rotated: boolean;
}

export class GroupKeys {
  private readonly epochs = new Map<string, Epoch>();
  /** Epochs started by this device, per group: how often it re-keyed (a figure for the generator and tests). */
  rotations = 0;

  constructor(private readonly device: E2eeDevice) {}

  /** What must happen before sending to `chatId` whose members (the sender excluded) are `members` now. */
  async plan(chatId: string, members: readonly number[]): Promise<GroupSendPlan> {
    const now = new Set(members);
    let epoch = this.epochs.get(chatId);
    let rotated = false;
    if (!epoch || [...epoch.given].some((u) => !now.has(u))) {
      const distributionId = randomUUID();
      const dm = await SenderKeyDistributionMessage.create(this.device.address, distributionId, this.device.senderKeys);
      epoch = { distributionId, given: new Set(), distribution: dm.serialize() };
      this.epochs.set(chatId, epoch);
      this.rotations++;
      rotated = true;
    }
    return { recipients: members.filter((u) => !epoch.given.has(u)), distribution: epoch.distribution, rotated };
  }

  /** The plan's recipients now hold the epoch's key. */
  given(chatId: string, users: readonly number[]): void {
    const epoch = this.epochs.get(chatId);
    if (epoch) for (const u of users) epoch.given.add(u);
  }

  /** One ciphertext for every member holding the current epoch's key. */
  async encrypt(chatId: string, plaintext: Uint8Array): Promise<Ciphertext> {
    const epoch = this.epochs.get(chatId);
    if (!epoch) throw new Error(`no sender key for ${chatId}: plan() first`);
    const m = await groupEncrypt(this.device.address, epoch.distributionId, this.device.senderKeys, own(plaintext));
    return { type: m.type(), bytes: m.serialize() };
  }

  /** A member's distribution message, received over its 1:1 session: its key for its next group messages. */
  async accept(fromUser: number, fromDevice: number, distribution: Uint8Array): Promise<void> {
    const dm = SenderKeyDistributionMessage.deserialize(own(distribution));
    await processSenderKeyDistributionMessage(addressOf(fromUser, fromDevice), dm, this.device.senderKeys);
  }

  /** Decrypt a group message from (user, device); throws without that sender's key for the message's epoch. */
  async decrypt(fromUser: number, fromDevice: number, c: Ciphertext): Promise<Uint8Array> {
    if (c.type !== CiphertextMessageType.SenderKey) throw new Error(`not a sender key ciphertext: type ${c.type}`);
    return groupDecrypt(addressOf(fromUser, fromDevice), this.device.senderKeys, own(c.bytes));
  }
}
