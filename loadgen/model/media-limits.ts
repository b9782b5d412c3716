// The load generator's bounds on media messages (traffic.mediaShare). The
// gateway has its own limits (server/common/config-media.ts); these keep the
// generator's memory and CPU per media send bounded.

/**
 * Largest media file a scenario may ask for (traffic.mediaBytes): the sender holds the file, its ciphertext and
 * the recipient its download in memory at once, and encrypts on the worker thread that also runs the clock.
 */
export const MEDIA_FILE_BYTES_MAX = 16 * 1024 * 1024;
/** Upload chunk size: 1 MiB, the gateway's media_chunk_bytes_max default (bench/media-http.ts uses the same). */
export const MEDIA_UPLOAD_CHUNK_BYTES = 1024 * 1024;
/** Media messages each worker has in flight at most (uploading, sent, downloading); more fail as media_busy. */
export const MEDIA_IN_FLIGHT_MAX = 4096;
