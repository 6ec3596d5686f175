import type { S3Event } from "aws-lambda";
import { describeError } from "../../handler/errors";
import { type HandlerDeps, processEvent, type RecordResult } from "../../handler/process-event";
import type { ReconcileWork } from "../reconcile";
import type { ActivityFeed } from "./activity";
import type { FailureLog } from "./failure-log";
import { invoke } from "./invoke";
import type { ServiceStats } from "./service";
import { WorkQueue } from "./work-queue";

export interface EventPumpOptions {
  readonly deps: HandlerDeps;
  /** Events waiting in memory at most. */
  readonly capacity: number;
  /** Events handled at once. */
  readonly concurrency: number;
  /** Lambda-style retries of a failed invocation. */
  readonly retryDelaysMs: readonly number[];
  readonly failures: FailureLog;
  readonly stats: ServiceStats;
  readonly activity: ActivityFeed;
  /** Aborted at shutdown: no more retries. */
  readonly signal: AbortSignal;
  /** An event failed every retry for the first time this run: reconciliation may try it again. */
  readonly onGaveUp: () => void;
}

/**
 * The queue that delivers events to the handler's processEvent as Lambda's asynchronous
 * invocation does: bounded, a few at a time, one at a time per key, with retries; bad inputs and
 * invocations that failed every retry go to the on-failure record.
 */
export function createEventPump(options: EventPumpOptions): WorkQueue<ReconcileWork> {
  const { deps, stats, activity } = options;
  // Keys that already had a second chance through reconciliation after failing every retry:
  // one more failure is final for this run (no endless retry loop on a broken object).
  const secondChance = new Set<string>();
  return new WorkQueue<ReconcileWork>({
    capacity: options.capacity,
    concurrency: options.concurrency,
    keyOf: (work) => eventKey(work.event),
    run: async ({ event, renditions }) => {
      let results: readonly RecordResult[] = [];
      const outcome = await invoke(event, {
        handle: async (e) => {
          results = await processEvent(e, deps, renditions);
          await recordBadInputs(results, options);
        },
        retryDelaysMs: options.retryDelaysMs,
        failures: options.failures,
        log: deps.log,
        signal: options.signal,
      });
      activity.notify({ kind: "finished", event, outcome, results });
      if (outcome !== "failed") return;
      stats.invocationFailures += 1;
      const key = eventKey(event);
      if (!secondChance.has(key)) {
        if (secondChance.size > 10_000) secondChance.clear();
        secondChance.add(key);
        options.onGaveUp();
      }
    },
    onError: (error, work) =>
      deps.log.log("error", {
        msg: "event delivery failed",
        key: eventKey(work.event),
        ...describeError(error),
      }),
  });
}

/** Every upload the handler refused, counted and in the on-failure record. */
async function recordBadInputs(
  results: readonly RecordResult[],
  { stats, failures }: Pick<EventPumpOptions, "stats" | "failures">,
): Promise<void> {
  for (const result of results) {
    if (result.outcome !== "failed") continue;
    stats.badInputs += 1;
    await failures.append({
      kind: "bad-input",
      bucket: result.bucket,
      key: result.key,
      code: result.code ?? "UNKNOWN",
      reason: result.reason ?? "",
    });
  }
}

function eventKey(event: S3Event): string {
  const record = event.Records[0];
  return `${record?.s3.bucket.name}/${record?.s3.object.key}`;
}
