// The key directory's limits (end-to-end encryption, docs/design/021-e2ee.md),
// kept beside config.ts so that file stays one screen per concern; Limits
// (config.ts) includes them, so WA_<NAME> overrides work the same way.

export interface KeyLimits {
  /** Devices with keys per user: a phone and 4 companions, as WhatsApp allows. A sixth device's upload -> TOO_MANY_DEVICES. */
  devices_per_user_max: number;
  /** One-time prekeys in one KeysUpload (Signal clients upload 100 at a time); more -> TOO_MANY_PREKEYS, nothing stored. */
  prekeys_per_upload_max: number;
  /** One-time prekeys held per device: bounds the directory's storage (~80 B a row); an upload past it -> TOO_MANY_PREKEYS. */
  prekeys_per_device_max: number;
  /** Fewer one-time prekeys than this left after a fetch -> PrekeysLow to the device, which uploads more. */
  prekeys_low_threshold: number;
  /**
   * Bundle fetches one user may make per second on a chat node (a fetch consumes a one-time prekey of every device of
   * the target: a fetch storm drains directories and scrapes who has which devices); over it -> KEY_RATE_LIMITED.
   */
  key_fetches_per_user_per_second_max: number;
  /** Key uploads one user may make per hour (registration, refills, rotations: a few a day); over it -> KEY_RATE_LIMITED. */
  key_uploads_per_user_per_hour_max: number;
}

export const DEFAULT_KEY_LIMITS: Readonly<KeyLimits> = Object.freeze({
  devices_per_user_max: 5,
  prekeys_per_upload_max: 100,
  prekeys_per_device_max: 500,
  prekeys_low_threshold: 10,
  key_fetches_per_user_per_second_max: 50,
  key_uploads_per_user_per_hour_max: 200,
});
