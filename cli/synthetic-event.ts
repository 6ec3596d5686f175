/**
 * Builds S3 event notifications the way S3 sends them, for objects that S3 did not announce:
 * the local service (s3rver's in-process events) and reconciliation/backfill (objects found by
 * listing). processEvent then handles them exactly like real notifications.
 */

import type { S3Event } from "aws-lambda";

/**
 * Encodes a key the way S3 event notifications do: form-URL encoding of the UTF-8 bytes, so a
 * space becomes "+", a "+" becomes "%2B", and "/" stays as it is. Inverse of decodeEventKey.
 */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, "+").replace(/%2F/g, "/");
}

/**
 * S3 sequencers are hexadecimal strings that grow with each change of a key. Time in
 * microseconds plus a counter keeps them growing across restarts and within a millisecond.
 */
export function createSequencer(now: () => number = Date.now): () => string {
  let last = 0n;
  return () => {
    const candidate = BigInt(now()) * 1000n;
    last = candidate > last ? candidate : last + 1n;
    return last.toString(16).toUpperCase().padStart(16, "0");
  };
}

export interface ObjectChange {
  /** As S3 names it, e.g. "ObjectCreated:Put", "ObjectRemoved:Delete". */
  eventName: string;
  bucket: string;
  /** The real key (encoded here). */
  key: string;
  /** Created events carry size and ETag (without quotes); removals carry neither. */
  size?: number;
  eTag?: string;
  eventTime?: string;
  sourceIp?: string;
}

export interface EventSource {
  region: string;
  sequencer: () => string;
}

/** One change as a one-record S3 notification event, which is how S3 invokes Lambda. */
export function s3Event(change: ObjectChange, source: EventSource): S3Event {
  const sequencer = source.sequencer();
  const object =
    change.size === undefined || change.eTag === undefined
      ? { key: encodeEventKey(change.key), sequencer }
      : { key: encodeEventKey(change.key), size: change.size, eTag: change.eTag, sequencer };
  return {
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: source.region,
        eventTime: change.eventTime ?? new Date().toISOString(),
        eventName: change.eventName,
        userIdentity: { principalId: "AWS:THUMBNAILER" },
        requestParameters: { sourceIPAddress: change.sourceIp ?? "127.0.0.1" },
        responseElements: { "x-amz-request-id": sequencer, "x-amz-id-2": "thumbnailer" },
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "thumbnailer",
          bucket: {
            name: change.bucket,
            ownerIdentity: { principalId: "THUMBNAILER" },
            arn: `arn:aws:s3:::${change.bucket}`,
          },
          // S3's type says size and eTag are always there; removals carry neither.
          object: object as S3Event["Records"][number]["s3"]["object"],
        },
      },
    ],
  };
}
