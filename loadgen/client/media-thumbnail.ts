// Client-side image sizing and thumbnails with sharp (libvips in its npm
// package): what a phone does before it encrypts and uploads an image. Both
// are bounded: an input over THUMBNAIL_LIMITS.input_pixels_max is refused by
// libvips before it decodes (a decompression bomb costs nothing), the sent
// image is at most send_edge_px_max on its longer edge, and the thumbnail is a
// small JPEG that travels inside the encrypted message (so the receiver shows
// it before downloading anything).
import sharp from 'sharp';

export const THUMBNAIL_LIMITS = Object.freeze({
  /** Pixels of an input image libvips agrees to decode: a 48-megapixel phone photo, with room. */
  input_pixels_max: 64_000_000,
  /** Longer edge of an image as sent: WhatsApp sends ~1600 px ("standard quality"). */
  send_edge_px_max: 1600,
  /** Longer edge of the thumbnail inside the message. */
  thumbnail_edge_px: 100,
  /** JPEG quality of the thumbnail: small over pretty, it is a placeholder. */
  thumbnail_quality: 50,
  /** A thumbnail larger than this is refused (it rides in a message limited by text_bytes_max). */
  thumbnail_bytes_max: 16 * 1024,
});

export interface PreparedImage {
  /** The image as sent: JPEG, resized to send_edge_px_max when larger. */
  image: Buffer;
  width: number;
  height: number;
  thumbnail: Buffer;
  mime: 'image/jpeg';
}

/** Resizes (never enlarges) and re-encodes an image, and makes its thumbnail; rejects what libvips cannot or may not decode. */
export async function prepareImage(input: Buffer): Promise<PreparedImage> {
  const limits = { limitInputPixels: THUMBNAIL_LIMITS.input_pixels_max, failOn: 'error' as const };
  const fit = { fit: 'inside' as const, withoutEnlargement: true };
  const edge = THUMBNAIL_LIMITS.send_edge_px_max;
  const sent = await sharp(input, limits).rotate().resize(edge, edge, fit).jpeg({ quality: 80 }).toBuffer({ resolveWithObject: true });
  const t = THUMBNAIL_LIMITS.thumbnail_edge_px;
  const thumbnail = await sharp(sent.data).resize(t, t, fit).jpeg({ quality: THUMBNAIL_LIMITS.thumbnail_quality }).toBuffer();
  if (thumbnail.length > THUMBNAIL_LIMITS.thumbnail_bytes_max) throw new Error(`thumbnail of ${thumbnail.length} bytes over thumbnail_bytes_max`);
  return { image: sent.data, width: sent.info.width, height: sent.info.height, thumbnail, mime: 'image/jpeg' };
}
