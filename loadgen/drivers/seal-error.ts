/** Why a send could not be sealed or a body not opened: the world counts it as sends_failed{reason} or e2ee_decrypt_failed{reason}. */
export class SealError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}
