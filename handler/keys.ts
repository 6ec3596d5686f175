/**
 * Object keys: how S3 event notifications encode them, and where a source object's renditions
 * live. Shared by the Lambda handler, the local service and reconcile/backfill, so all three
 * agree on the destination of every source object.
 */

import type { HandlerConfig } from "./config";
import type { Rendition } from "./engine";

/**
 * Decodes a key as S3 puts it in event notifications: form-URL encoded, so "+" is a space and
 * "%2B" is a "+", then percent-escapes as UTF-8. Throws URIError on a malformed escape.
 */
export function decodeEventKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, " "));
}

/**
 * A rendition's key for a source key: DEST_PREFIX, the rendition's prefix, then the source key,
 * unchanged (the extension too, even when the format differs: Content-Type says what it is).
 * Distinct source keys therefore always map to distinct keys, and a replay writes the same key.
 */
export function destinationKey(
  sourceKey: string,
  config: Pick<HandlerConfig, "destPrefix">,
  rendition: Pick<Rendition, "prefix">,
): string {
  return config.destPrefix + rendition.prefix + sourceKey;
}

/** True for one of our own outputs: in the destination bucket, under a rendition's prefix. */
export function isInDestination(
  bucket: string,
  key: string,
  config: Pick<HandlerConfig, "destBucket" | "destPrefix" | "renditions">,
): boolean {
  return (
    bucket === config.destBucket &&
    config.renditions.some((rendition) => key.startsWith(config.destPrefix + rendition.prefix))
  );
}

/** True when the object is one the function is configured to thumbnail (SOURCE_BUCKET/PREFIX). */
export function isInSource(
  bucket: string,
  key: string,
  config: Pick<HandlerConfig, "sourceBucket" | "sourcePrefix">,
): boolean {
  return (
    (config.sourceBucket === undefined || bucket === config.sourceBucket) &&
    key.startsWith(config.sourcePrefix)
  );
}
