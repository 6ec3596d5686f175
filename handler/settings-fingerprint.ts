/**
 * The settings fingerprint: a short name for exactly the settings that decide whether an object
 * can be thumbnailed and what comes out — each rendition's spec (size, fit, position, format,
 * quality, background, animated: the RENDITIONS list or the THUMB_* settings), the input limits
 * (MAX_INPUT_BYTES, MAX_INPUT_PIXELS) and which representation of a HEIC is decoded
 * (HEIC_THUMBNAILS: a broken thumbnail item fails only with it on). A failure record names the fingerprint it failed under
 * (handler/failure-record.ts), so reconciliation and backfill retry the failure once these
 * settings change, and only then.
 *
 * Not in it, because they change no outcome: rendition names and prefixes (where a rendition is
 * written), the buckets and prefixes, CONCURRENCY, CACHE_CONTROL, the log level. The order of the
 * renditions does not count either.
 */

import { createHash } from "node:crypto";
import type { HandlerConfig } from "./config";
import { renditionSpec } from "./engine";

/** 16 hex digits (64 bits of SHA-256): fits an S3 tag value (256 characters) many times over. */
export function settingsFingerprint(config: Pick<HandlerConfig, "renditions" | "limits">): string {
  const specs = [...new Set(config.renditions.map(renditionSpec))].sort();
  const { maxInputBytes, maxInputPixels } = config.limits;
  const heicThumbnails = config.limits.heicThumbnails !== false;
  const settings = JSON.stringify({
    renditions: specs,
    maxInputBytes,
    maxInputPixels,
    heicThumbnails,
  });
  return createHash("sha256").update(settings).digest("hex").slice(0, 16);
}
