/**
 * Classifies errors from @aws-sdk/client-s3. The SDK's service errors carry the HTTP status in
 * `$metadata.httpStatusCode`; network errors carry none. Everything here narrows `unknown`.
 */

import { TransientError } from "./errors";

export function httpStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("$metadata" in error)) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof metadata?.httpStatusCode === "number" ? metadata.httpStatusCode : undefined;
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** The object (or bucket) does not exist: NoSuchKey on GetObject, NotFound on HeadObject. */
export function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  return httpStatus(error) === 404 || name === "NoSuchKey" || name === "NotFound";
}

/** An If-Match condition failed: the object has changed since the event was sent. */
export function isPreconditionFailed(error: unknown): boolean {
  return httpStatus(error) === 412 || errorName(error) === "PreconditionFailed";
}

/**
 * Wraps any other S3 failure (5xx, throttling, access denied, network) as a TransientError so the
 * invocation is retried and, at the end, routed to the on-failure destination. The message names
 * the call and the object, never the raw error.
 */
export function s3Failure(
  action: string,
  bucket: string,
  key: string,
  error: unknown,
): TransientError {
  const status = httpStatus(error);
  const what =
    error instanceof Error ? `${error.name}: ${error.message}` : `non-error value ${String(error)}`;
  const message = `${action} s3://${bucket}/${key} failed${status ? ` (HTTP ${status})` : ""}: ${what}`;
  return new TransientError("S3_ERROR", message, { cause: error });
}
