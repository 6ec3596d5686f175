import type { S3Event } from "aws-lambda";
import { type EventSource, s3Event } from "../synthetic-event";

/** A record as s3rver emits it in-process (`server.on("event")`): the parts we read. */
export interface S3rverEvent {
  Records: {
    eventName: string;
    eventTime: string;
    requestParameters: { sourceIPAddress: string };
    s3: {
      bucket: { name: string };
      object: { key: string; size?: number; eTag?: string };
    };
  }[];
}

/** s3rver's event names that S3 spells differently. s3rver calls a multipart completion a Post. */
const EVENT_NAMES: Record<string, string> = {
  "ObjectCreated:Post": "ObjectCreated:CompleteMultipartUpload",
};

/**
 * s3rver's events as S3 would send them: the key URL-encoded (s3rver gives it raw), S3's event
 * names, an ARN, the configured region and a growing sequencer. One S3 event per record.
 */
export function fromS3rver(event: S3rverEvent, source: EventSource): S3Event[] {
  return event.Records.map((record) => {
    const { object } = record.s3;
    return s3Event(
      {
        eventName: EVENT_NAMES[record.eventName] ?? record.eventName,
        bucket: record.s3.bucket.name,
        key: object.key,
        ...(object.size !== undefined && object.eTag !== undefined
          ? { size: object.size, eTag: object.eTag }
          : {}),
        eventTime: record.eventTime,
        sourceIp: record.requestParameters.sourceIPAddress,
      },
      source,
    );
  });
}
