/**
 * Multi-record S3 event notifications for handler tests, built with the product's own
 * one-record builder (cli/synthetic-event.ts). A record can carry a verbatim `rawKey`, to
 * test decoding against keys written exactly as AWS encodes them.
 */

import type { S3Event } from "aws-lambda";
import {
  createSequencer,
  type ObjectChange,
  s3Event as oneRecordEvent,
} from "../../cli/synthetic-event";

export { encodeEventKey } from "../../cli/synthetic-event";

export interface RecordSpec extends ObjectChange {
  /** Used verbatim as s3.object.key instead of encoding `key`. */
  rawKey?: string;
}

const source = { region: "eu-west-1", sequencer: createSequencer() };

export function s3Event(...specs: RecordSpec[]): S3Event {
  return {
    Records: specs.flatMap(({ rawKey, ...change }) =>
      oneRecordEvent(change, source).Records.map((record) =>
        rawKey === undefined
          ? record
          : { ...record, s3: { ...record.s3, object: { ...record.s3.object, key: rawKey } } },
      ),
    ),
  };
}
