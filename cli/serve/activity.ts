import type { S3Event } from "aws-lambda";
import type { RecordResult } from "../../handler/process-event";

/** What happened to the source bucket's objects, for watchers such as the gallery page. */
export type Activity =
  /** S3 announced a change to a source object (created or removed). */
  | { readonly kind: "notified"; readonly event: S3Event }
  /** An event is waiting in the queue or running: its object is pending. */
  | { readonly kind: "queued"; readonly event: S3Event }
  /** The event was handled: its results, or the invocation failed (recorded) or was aborted. */
  | {
      readonly kind: "finished";
      readonly event: S3Event;
      readonly outcome: "ok" | "failed" | "aborted";
      readonly results: readonly RecordResult[];
    };

/** The service's activity, told to every watcher as it happens. */
export class ActivityFeed {
  private readonly watchers = new Set<(activity: Activity) => void>();

  /** Calls `listener` with every Activity from now on; returns the unsubscribe function. */
  watch(listener: (activity: Activity) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  notify(activity: Activity): void {
    for (const watcher of this.watchers) watcher(activity);
  }
}
