// The seed's own capacity estimates ("Design WhatsApp", Capacity Estimation),
// transcribed as stated, and their recomputation from the model's seed inputs.
// Each row says how the seed got its number, what we get, and whether the two
// agree; a difference always comes with its reason.
//
// The seed, verbatim:
//   100B messages/day = ~1.16M messages/second
//   Messages: 100B/day * 100 bytes = 10TB/day = 3.65PB/year
//   Media: 1B media/day * 1MB = 1PB/day = 365PB/year
//   User data: 2B users * 1KB = 2TB
//   Total: ~370PB/year
//   Message delivery: 1.16M msgs/sec * 100 bytes = 116MB/sec
//   Media delivery: 11.6K media/sec * 1MB = 11.6GB/sec
import type { FleetModel, FleetParameter } from './fleet-model';
import { SEED_FLEET_MODEL } from './fleet-model';
import { BITS_PER_BYTE, DAYS_PER_YEAR, SECONDS_PER_DAY } from './units';

/** Relative differences up to this are the seed rounding to 3 significant digits. */
export const ROUNDING_RELATIVE_MAX = 0.005;
/** Below this the seed's figure is exact. */
export const EXACT_RELATIVE_MAX = 1e-9;

export type SeedVerdict = 'exact' | 'rounded' | 'differs';

export interface SeedFigure {
  id: string;
  label: string;
  /** The seed's text for this figure. */
  seed_text: string;
  seed_value: number;
  unit: string;
  /** How we recompute it, in words and parameter names. */
  formula: string;
  /** The model parameters the recomputation reads (a changed one explains a difference). */
  inputs: FleetParameter[];
  recompute: (m: FleetModel) => number;
  /** What the figure means or leaves out, true whatever the verdict. */
  note: string;
  /** Why a rounded figure is off, when the model keeps the seed's inputs. */
  rounding_reason?: string;
}

export interface SeedCheckRow {
  id: string;
  label: string;
  seed_text: string;
  seed_value: number;
  recomputed_value: number;
  unit: string;
  formula: string;
  relative_difference: number;
  verdict: SeedVerdict;
  reason: string;
  note: string;
}

const sendsPerS = (m: FleetModel) => m.messages_per_day / SECONDS_PER_DAY;
const mediaPerS = (m: FleetModel) => m.media_per_day / SECONDS_PER_DAY;
const messageBytesPerDay = (m: FleetModel) => m.messages_per_day * m.message_bytes;
const mediaBytesPerDay = (m: FleetModel) => m.media_per_day * m.media_bytes;
const userDataBytes = (m: FleetModel) => m.users * m.user_record_bytes;

export const SEED_FIGURES: readonly SeedFigure[] = [
  {
    id: 'messages_per_s',
    label: 'messages per second (average)',
    seed_text: '100B messages/day = ~1.16M messages/second',
    seed_value: 1.16e6, unit: 'msgs/s',
    formula: 'messages_per_day / 86400',
    inputs: ['messages_per_day'],
    recompute: sendsPerS,
    note: 'A daily average: the busiest hour is peak_to_average_ratio times this. Counts sends, not deliveries.',
    rounding_reason: '100e9 / 86400 = 1,157,407/s; the seed rounds up to 1.16M.',
  },
  {
    id: 'message_storage_bytes_per_day',
    label: 'message storage per day',
    seed_text: 'Messages: 100B/day * 100 bytes = 10TB/day',
    seed_value: 10e12, unit: 'B/day',
    formula: 'messages_per_day * message_bytes',
    inputs: ['messages_per_day', 'message_bytes'],
    recompute: messageBytesPerDay,
    note: 'One copy of the plaintext body only: no replication, no row overhead, no encryption overhead, no compaction.',
  },
  {
    id: 'message_storage_bytes_per_year',
    label: 'message storage per year',
    seed_text: '10TB/day = 3.65PB/year',
    seed_value: 3.65e15, unit: 'B/year',
    formula: 'messages_per_day * message_bytes * 365',
    inputs: ['messages_per_day', 'message_bytes'],
    recompute: (m) => messageBytesPerDay(m) * DAYS_PER_YEAR,
    note: 'Same single logical copy, kept for a year.',
  },
  {
    id: 'media_storage_bytes_per_day',
    label: 'media storage per day',
    seed_text: 'Media: 1B media/day * 1MB = 1PB/day',
    seed_value: 1e15, unit: 'B/day',
    formula: 'media_per_day * media_bytes',
    inputs: ['media_per_day', 'media_bytes'],
    recompute: mediaBytesPerDay,
    note: 'One copy; no redundancy in the blob store, no thumbnails, no dedup of forwarded media.',
  },
  {
    id: 'media_storage_bytes_per_year',
    label: 'media storage per year',
    seed_text: '1PB/day = 365PB/year',
    seed_value: 365e15, unit: 'B/year',
    formula: 'media_per_day * media_bytes * 365',
    inputs: ['media_per_day', 'media_bytes'],
    recompute: (m) => mediaBytesPerDay(m) * DAYS_PER_YEAR,
    note: 'Media is 99% of the stored bytes: the message store is small next to the blob store.',
  },
  {
    id: 'user_data_bytes',
    label: 'user data',
    seed_text: 'User data: 2B users * 1KB = 2TB',
    seed_value: 2e12, unit: 'B',
    formula: 'users * user_record_bytes',
    inputs: ['users', 'user_record_bytes'],
    recompute: userDataBytes,
    note: 'A standing size, not growth per year; one copy.',
  },
  {
    id: 'total_storage_bytes_per_year',
    label: 'total storage per year',
    seed_text: 'Total: ~370PB/year',
    seed_value: 370e15, unit: 'B/year',
    formula: 'message storage/year + media storage/year + user data',
    inputs: ['messages_per_day', 'message_bytes', 'media_per_day', 'media_bytes', 'users', 'user_record_bytes'],
    recompute: (m) => (messageBytesPerDay(m) + mediaBytesPerDay(m)) * DAYS_PER_YEAR + userDataBytes(m),
    note: 'Adds a one-off standing size (user data, 2 TB) to yearly growth, harmless at this scale; still one copy of everything.',
    rounding_reason: '3.65 PB + 365 PB + 0.002 PB = 368.652 PB; the seed rounds to ~370.',
  },
  {
    id: 'message_delivery_bytes_per_s',
    label: 'message delivery bandwidth',
    seed_text: 'Message delivery: 1.16M msgs/sec * 100 bytes = 116MB/sec',
    seed_value: 116e6, unit: 'B/s',
    formula: 'messages_per_day / 86400 * message_bytes',
    inputs: ['messages_per_day', 'message_bytes'],
    recompute: (m) => sendsPerS(m) * m.message_bytes,
    note: 'One delivery per message (no group fan-out, devices, receipts, presence), body bytes only, daily average. ' +
      `${(116e6 * BITS_PER_BYTE) / 1e9} Gbit/s.`,
    rounding_reason: 'Built on the rounded 1.16M/s: 1,157,407/s * 100 B = 115.7 MB/s.',
  },
  {
    id: 'media_uploads_per_s',
    label: 'media items per second (average)',
    seed_text: '11.6K media/sec (in "Media delivery")',
    seed_value: 11.6e3, unit: 'media/s',
    formula: 'media_per_day / 86400',
    inputs: ['media_per_day'],
    recompute: mediaPerS,
    note: 'A daily average of uploads.',
    rounding_reason: '1e9 / 86400 = 11,574/s; the seed rounds to 11.6K.',
  },
  {
    id: 'media_delivery_bytes_per_s',
    label: 'media delivery bandwidth',
    seed_text: 'Media delivery: 11.6K media/sec * 1MB = 11.6GB/sec',
    seed_value: 11.6e9, unit: 'B/s',
    formula: 'media_per_day / 86400 * media_bytes',
    inputs: ['media_per_day', 'media_bytes'],
    recompute: (m) => mediaPerS(m) * m.media_bytes,
    note: `One transfer per item: the upload, or one download, not both, and not one per group member. ${(11.6e9 * BITS_PER_BYTE) / 1e9} Gbit/s.`,
    rounding_reason: 'Built on the rounded 11.6K/s: 11,574/s * 1 MB = 11.57 GB/s.',
  },
];

export function relativeDifference(seed: number, recomputed: number): number {
  if (seed === recomputed) return 0;
  return (recomputed - seed) / Math.max(Math.abs(seed), Math.abs(recomputed));
}

/** Recompute every seed figure from `model` and compare with the seed's text. */
export function checkSeed(model: FleetModel): SeedCheckRow[] {
  return SEED_FIGURES.map((f) => {
    const recomputed = f.recompute(model);
    const rel = relativeDifference(f.seed_value, recomputed);
    const changed = f.inputs.filter((name) => model[name] !== SEED_FLEET_MODEL[name]);
    let verdict: SeedVerdict;
    let reason: string;
    if (Math.abs(rel) <= EXACT_RELATIVE_MAX) {
      verdict = 'exact';
      reason = 'The arithmetic holds.';
    } else if (changed.length > 0) {
      verdict = 'differs';
      reason = `This model changes the seed's input${changed.length > 1 ? 's' : ''}: ` +
        changed.map((n) => `${n} = ${model[n]} (seed ${SEED_FLEET_MODEL[n]})`).join(', ') + '.';
    } else if (Math.abs(rel) <= ROUNDING_RELATIVE_MAX) {
      verdict = 'rounded';
      reason = f.rounding_reason ?? 'The seed rounds to 3 significant digits.';
    } else {
      verdict = 'differs';
      reason = `The seed's arithmetic is off by ${(rel * 100).toFixed(2)}%.`;
    }
    return {
      id: f.id, label: f.label, seed_text: f.seed_text, seed_value: f.seed_value, recomputed_value: recomputed,
      unit: f.unit, formula: f.formula, relative_difference: rel, verdict, reason, note: f.note,
    };
  });
}
