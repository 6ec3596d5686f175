/**
 * Builds S3 event notifications shaped like the ones AWS sends to Lambda, keys encoded the way
 * AWS encodes them (form-URL encoding: a space is "+", "+" is "%2B", "/" stays as is).
 */

import type { S3Event, S3EventRecord } from "aws-lambda";

export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, "+").replace(/%2F/g, "/");
}

export interface RecordSpec {
  /** e.g. "ObjectCreated:Put", "ObjectRemoved:DeleteMarkerCreated". */
  eventName: string;
  bucket: string;
  /** The real key; encoded here unless `rawKey` is given. */
  key: string;
  /** Used verbatim as s3.object.key instead of encoding `key`. */
  rawKey?: string;
  size?: number;
  eTag?: string;
}

export function s3Record(spec: RecordSpec): S3EventRecord {
  const object: Record<string, unknown> = {
    key: spec.rawKey ?? encodeEventKey(spec.key),
    sequencer: "0055AED6DCD90281E5",
  };
  if (spec.size !== undefined) object.size = spec.size;
  if (spec.eTag !== undefined) object.eTag = spec.eTag;
  return {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: "eu-west-1",
    eventTime: "2026-01-01T00:00:00.000Z",
    eventName: spec.eventName,
    userIdentity: { principalId: "AWS:EXAMPLE" },
    requestParameters: { sourceIPAddress: "203.0.113.1" },
    responseElements: { "x-amz-request-id": "EXAMPLE", "x-amz-id-2": "EXAMPLE" },
    s3: {
      s3SchemaVersion: "1.0",
      configurationId: "thumbnails",
      bucket: {
        name: spec.bucket,
        ownerIdentity: { principalId: "EXAMPLE" },
        arn: `arn:aws:s3:::${spec.bucket}`,
      },
      object: object as S3EventRecord["s3"]["object"],
    },
  };
}

export function s3Event(...records: RecordSpec[]): S3Event {
  return { Records: records.map(s3Record) };
}
