import type { S3Event } from "aws-lambda";
import type { HandlerConfig } from "../../handler/config";
import { isInSource } from "../../handler/keys";
import { parseRecord, type SourceRecord } from "../../handler/s3-event";
import type { ReconcileWork } from "../reconcile";
import type { EventSource } from "../synthetic-event";
import type { ActivityFeed } from "./activity";
import { fromS3rver, type S3rverEvent } from "./aws-event";
import type { ServiceStats } from "./service";
import type { WorkQueue } from "./work-queue";

export interface SourceEventsOptions {
  readonly source: EventSource;
  readonly config: HandlerConfig;
  readonly queue: WorkQueue<ReconcileWork>;
  readonly stats: ServiceStats;
  readonly activity: ActivityFeed;
  /** An event did not fit in the queue: reconciliation must pick it up. */
  readonly onSpill: () => void;
}

/**
 * What S3 notifies: s3rver's events turned into S3 notification events, for the source bucket
 * (and prefix) only, as the Lambda stack configures it, offered to the queue.
 */
export function sourceEvents(options: SourceEventsOptions): (raw: S3rverEvent) => void {
  const { stats, activity, queue, config } = options;
  return (raw) => {
    for (const event of fromS3rver(raw, options.source)) {
      if (!isSourceEvent(event, config)) continue;
      stats.received += 1;
      activity.notify({ kind: "notified", event });
      if (queue.offer({ event, renditions: config.renditions })) {
        activity.notify({ kind: "queued", event });
      } else {
        stats.spilled += 1;
        options.onSpill();
      }
    }
  };
}

/**
 * The handler's own reading of a record and of SOURCE_BUCKET/SOURCE_PREFIX; a record it cannot
 * read goes to the handler, which records it as INVALID_RECORD rather than it vanishing here.
 */
function isSourceEvent(event: S3Event, config: HandlerConfig): boolean {
  const record = event.Records[0];
  if (record === undefined) return false;
  let source: SourceRecord;
  try {
    source = parseRecord(record);
  } catch {
    return true;
  }
  return isInSource(source.bucket, source.key, config);
}
