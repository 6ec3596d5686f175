import { setTimeout as sleep } from "node:timers/promises";
import { describeError } from "../../handler/errors";
import type { HandlerDeps } from "../../handler/process-event";
import { type ReconcileWork, reconcile } from "../reconcile";
import type { EventSource } from "../synthetic-event";
import type { ActivityFeed } from "./activity";
import type { ServiceStats } from "./service";
import type { WorkQueue } from "./work-queue";

export interface Reconciler {
  /** Runs a pass now, or once more after the running one. */
  request(): void;
  isIdle(): boolean;
  /** Resolves when no pass is running or requested. */
  idle(): Promise<void>;
}

export interface ReconciliationOptions {
  readonly deps: HandlerDeps;
  readonly source: EventSource;
  readonly queue: WorkQueue<ReconcileWork>;
  readonly stats: ServiceStats;
  readonly activity: ActivityFeed;
  /** Delete the objects of renditions no longer configured (else count them). */
  readonly prune: boolean;
  /** Wait before reconciling again after S3 failed during reconciliation. */
  readonly retryMs: number;
  readonly signal: AbortSignal;
}

/**
 * Reconciliation, at start and whenever events were lost (spilled, or failed every retry): every
 * source object without an up-to-date thumbnail is queued, so nothing uploaded is left unmade,
 * unless it failed at this version under these settings (a failure recorded under other
 * settings, e.g. before a restart with a higher limit, is retried and counted in the log).
 */
export function createReconciliation(options: ReconciliationOptions): Reconciler {
  const { queue, deps } = options;
  return createReconciler(() => reconciliationPass(options), {
    retryMs: options.retryMs,
    signal: options.signal,
    beforeRepeat: () => queue.idle(),
    onError: (error) =>
      deps.log.log("warn", {
        msg: "reconciliation failed; trying again",
        retryIn: options.retryMs,
        ...describeError(error),
      }),
  });
}

/** One pass over the buckets: queues the work found (waiting for room), then logs the counts. */
async function reconciliationPass(options: ReconciliationOptions): Promise<void> {
  const { deps, queue, stats, activity, prune } = options;
  const { config, log } = deps;
  let found = 0;
  let unconfigured = 0;
  let retried = 0;
  const onUnconfigured = (): void => {
    unconfigured += 1;
  };
  const onRetry = (): void => {
    retried += 1;
  };
  for await (const work of reconcile(deps, options.source, { prune, onUnconfigured, onRetry })) {
    if (!(await queue.put(work))) return;
    activity.notify({ kind: "queued", event: work.event });
    found += 1;
    stats.reconciled += 1;
  }
  log.log("info", { msg: "reconciled", bucket: config.sourceBucket, events: found });
  if (retried > 0) {
    // Their failure records named other settings than these (handler/settings-fingerprint.ts).
    log.log("info", {
      msg: "retrying failures recorded under other settings",
      bucket: config.sourceBucket,
      objects: retried,
    });
  }
  if (unconfigured > 0) {
    log.log(prune ? "info" : "warn", {
      msg: prune
        ? "deleted the objects of renditions no longer configured"
        : "objects of renditions no longer configured left in place (--prune true deletes them)",
      bucket: config.destBucket,
      prefix: config.destPrefix,
      objects: unconfigured,
    });
  }
}

/**
 * Runs `pass` whenever requested, one pass at a time; a request during a pass schedules one
 * more pass after it (once the queue has drained). A failed pass is retried after `retryMs`.
 */
function createReconciler(
  pass: () => Promise<void>,
  options: {
    retryMs: number;
    signal: AbortSignal;
    beforeRepeat: () => Promise<void>;
    onError: (error: unknown) => void;
  },
): Reconciler {
  let requested = false;
  let running: Promise<void> | undefined;
  const loop = async (): Promise<void> => {
    let first = true;
    while (requested && !options.signal.aborted) {
      if (!first) await options.beforeRepeat();
      first = false;
      requested = false;
      try {
        await pass();
      } catch (error) {
        options.onError(error);
        requested = true;
        await sleep(options.retryMs, undefined, { signal: options.signal }).catch(() => undefined);
      }
    }
  };
  const start = (): void => {
    running = loop().finally(() => {
      running = undefined;
      if (requested && !options.signal.aborted) start();
    });
  };
  return {
    request(): void {
      requested = true;
      if (running === undefined) start();
    },
    isIdle: (): boolean => running === undefined,
    idle: async (): Promise<void> => {
      while (running !== undefined) await running;
    },
  };
}
