/**
 * Object keys: how S3 event notifications encode them, and where a source object's thumbnail
 * lives. Shared by the Lambda handler, the local service and reconcile/backfill, so all three
 * agree on the destination of every source object.
 */

import type { HandlerConfig } from "./config";

/**
 * Decodes a key as S3 puts it in event notifications: form-URL encoded, so "+" is a space and
 * "%2B" is a "+", then percent-escapes as UTF-8. Throws URIError on a malformed escape.
 */
export function decodeEventKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, " "));
}

/**
 * The thumbnail key for a source key: DEST_PREFIX followed by the source key, unchanged (the
 * extension too, even when the thumbnail format differs: Content-Type says what it is). Distinct
 * source keys therefore always map to distinct thumbnail keys, and a replay writes the same key.
 */
export function destinationKey(
  sourceKey: string,
  config: Pick<HandlerConfig, "destPrefix">,
): string {
  return config.destPrefix + sourceKey;
}

/** True for one of our own outputs: in the destination bucket, under the destination prefix. */
export function isInDestination(
  bucket: string,
  key: string,
  config: Pick<HandlerConfig, "destBucket" | "destPrefix">,
): boolean {
  return bucket === config.destBucket && key.startsWith(config.destPrefix);
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
