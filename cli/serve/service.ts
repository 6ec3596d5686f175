import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { S3Event } from "aws-lambda";
import { type HandlerConfig, readConfig } from "../../handler/config";
import { describeError } from "../../handler/errors";
import { isInSource } from "../../handler/keys";
import type { Logger } from "../../handler/log";
import { processEvent, type RecordResult } from "../../handler/process-event";
import { createS3Client } from "../../handler/s3-client";
import { parseRecord, type SourceRecord } from "../../handler/s3-event";
import { type ReconcileWork, reconcile } from "../reconcile";
import { createSequencer, type EventSource } from "../synthetic-event";
import { fromS3rver } from "./aws-event";
import { FailureLog } from "./failure-log";
import { invoke } from "./invoke";
import { repairStore } from "./repair-store";
import { startS3Server } from "./s3-server";
import { WorkQueue } from "./work-queue";

/** s3rver accepts requests signed with these, and only these. */
export const LOCAL_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export interface ServiceOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  /** Objects, failure record and temporary files; kept across restarts. */
  readonly dataDir: string;
  readonly sourceBucket: string;
  readonly destBucket: string;
  readonly region: string;
  /**
   * The handler's other settings, as its environment variables (DEST_PREFIX, THUMB_*,
   * MAX_INPUT_*, CONCURRENCY, CACHE_CONTROL, LOG_LEVEL); validated by the handler's readConfig.
   */
  readonly handlerEnv: Readonly<Record<string, string | undefined>>;
  /** Events (invocations) handled at once. */
  readonly concurrency: number;
  /** Events waiting in memory at most; more spill to reconciliation. */
  readonly queueCapacity: number;
  /** Lambda-style retries of a failed invocation. */
  readonly retryDelaysMs: readonly number[];
  /** Reconciliation deletes our objects of renditions no longer configured (else counts them). */
  readonly prune?: boolean;
  /** Wait before reconciling again after S3 failed during reconciliation. */
  readonly reconcileRetryMs: number;
  /** Where the handler's S3 client connects; default the server itself (tests put a proxy here). */
  readonly handlerEndpoint?: string;
  readonly log: Logger;
}

export interface ServiceStats {
  /** Events s3rver announced for the source bucket. */
  received: number;
  /** Events found by reconciliation. */
  reconciled: number;
  /** Events that did not fit in the queue (reconciliation picks them up). */
  spilled: number;
  /** Invocations that failed after all retries (in the on-failure record). */
  invocationFailures: number;
  /** Uploads the handler rejected as bad input (tagged, and in the on-failure record). */
  badInputs: number;
}

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

export interface Service {
  readonly endpoint: string;
  readonly port: number;
  readonly failureRecord: string;
  readonly stats: Readonly<ServiceStats>;
  /** The handler's configuration, as the service's own invocations use it. */
  readonly config: HandlerConfig;
  /** Calls `listener` with every Activity from now on; returns the unsubscribe function. */
  watch(listener: (activity: Activity) => void): () => void;
  /** Resolves when reconciliation is done and no event is waiting or running. */
  idle(): Promise<void>;
  /** Stops taking uploads, finishes the invocations running, closes the server. */
  stop(): Promise<void>;
}

/**
 * The whole pipeline on a laptop: s3rver with the source and destination buckets, its object
 * events turned into genuine S3 notification events and delivered to the handler's
 * processEvent like Lambda's asynchronous invocation (bounded queue, retries, on-failure
 * record), and reconciliation at start-up so that nothing uploaded is ever left unprocessed.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { log } = options;
  const dataDir = path.resolve(options.dataDir);
  const storeDir = path.join(dataDir, "s3");
  const failures = new FailureLog(path.join(dataDir, "failures.jsonl"));
  const stats: ServiceStats = {
    received: 0,
    reconciled: 0,
    spilled: 0,
    invocationFailures: 0,
    badInputs: 0,
  };
  const source: EventSource = { region: options.region, sequencer: createSequencer() };
  const stopping = new AbortController();
  const watchers = new Set<(activity: Activity) => void>();
  const notify = (activity: Activity): void => {
    for (const watcher of watchers) watcher(activity);
  };

  for (const file of await repairStore(storeDir)) {
    log.log("warn", { msg: "removed a damaged s3rver file left by a crash", file });
  }

  const server = await startS3Server({
    host: options.host,
    port: options.port,
    storeDir,
    tmpDir: path.join(dataDir, "tmp"),
    buckets: [...new Set([options.sourceBucket, options.destBucket])],
    onEvent: (raw) => {
      // S3 notifies about the source bucket (and prefix) only, as the Lambda stack configures it.
      for (const event of fromS3rver(raw, source)) {
        if (!isSourceEvent(event)) continue;
        stats.received += 1;
        notify({ kind: "notified", event });
        if (queue.offer({ event, renditions: config.renditions })) {
          notify({ kind: "queued", event });
        } else {
          stats.spilled += 1;
          reconciler.request();
        }
      }
    },
  });

  const config = readConfig({
    ...options.handlerEnv,
    SOURCE_BUCKET: options.sourceBucket,
    DEST_BUCKET: options.destBucket,
    AWS_REGION: options.region,
    AWS_ENDPOINT_URL_S3: options.handlerEndpoint ?? server.endpoint,
  });
  // The handler's client signs with the credentials s3rver expects, whatever the environment holds.
  const s3 = createS3Client({ ...config, credentials: LOCAL_CREDENTIALS });
  const deps = { s3, config, log };
  // The handler's own reading of a record and of SOURCE_BUCKET/SOURCE_PREFIX; a record it cannot
  // read goes to the handler, which records it as INVALID_RECORD rather than it vanishing here.
  const isSourceEvent = (event: S3Event): boolean => {
    const record = event.Records[0];
    if (record === undefined) return false;
    let source: SourceRecord;
    try {
      source = parseRecord(record);
    } catch {
      return true;
    }
    return isInSource(source.bucket, source.key, config);
  };

  // Keys that already had a second chance through reconciliation after failing every retry:
  // one more failure is final for this run (no endless retry loop on a broken object).
  const secondChance = new Set<string>();
  const queue: WorkQueue<ReconcileWork> = new WorkQueue<ReconcileWork>({
    capacity: options.queueCapacity,
    concurrency: options.concurrency,
    keyOf: (work) => eventKey(work.event),
    run: async ({ event, renditions }) => {
      let results: readonly RecordResult[] = [];
      const outcome = await invoke(event, {
        handle: async (e) => {
          results = await processEvent(e, deps, renditions);
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
        },
        retryDelaysMs: options.retryDelaysMs,
        failures,
        log,
        signal: stopping.signal,
      });
      notify({ kind: "finished", event, outcome, results });
      if (outcome !== "failed") return;
      stats.invocationFailures += 1;
      const key = eventKey(event);
      if (!secondChance.has(key)) {
        if (secondChance.size > 10_000) secondChance.clear();
        secondChance.add(key);
        reconciler.request();
      }
    },
    onError: (error, work) =>
      log.log("error", {
        msg: "event delivery failed",
        key: eventKey(work.event),
        ...describeError(error),
      }),
  });

  const reconciler = createReconciler(
    async () => {
      let found = 0;
      let unconfigured = 0;
      const onUnconfigured = (): void => {
        unconfigured += 1;
      };
      for await (const work of reconcile(deps, source, {
        prune: options.prune === true,
        onUnconfigured,
      })) {
        if (!(await queue.put(work))) return;
        notify({ kind: "queued", event: work.event });
        found += 1;
        stats.reconciled += 1;
      }
      log.log("info", { msg: "reconciled", bucket: config.sourceBucket, events: found });
      if (unconfigured > 0) {
        log.log(options.prune === true ? "info" : "warn", {
          msg:
            options.prune === true
              ? "deleted the objects of renditions no longer configured"
              : "objects of renditions no longer configured left in place (--prune true deletes them)",
          bucket: config.destBucket,
          prefix: config.destPrefix,
          objects: unconfigured,
        });
      }
    },
    {
      retryMs: options.reconcileRetryMs,
      signal: stopping.signal,
      beforeRepeat: () => queue.idle(),
      onError: (error) =>
        log.log("warn", {
          msg: "reconciliation failed; trying again",
          retryIn: options.reconcileRetryMs,
          ...describeError(error),
        }),
    },
  );
  reconciler.request();

  return {
    endpoint: server.endpoint,
    port: server.port,
    failureRecord: failures.file,
    stats,
    config,
    watch(listener) {
      watchers.add(listener);
      return () => watchers.delete(listener);
    },
    async idle() {
      for (;;) {
        await reconciler.idle();
        await queue.idle();
        if (reconciler.isIdle() && queue.size.running + queue.size.waiting === 0) return;
      }
    },
    async stop() {
      stopping.abort();
      const dropped = await queue.close();
      await reconciler.idle();
      s3.destroy();
      await server.close();
      log.log("info", { msg: "stopped", waitingEventsLeftToReconciliation: dropped });
    },
  };
}

function eventKey(event: S3Event): string {
  const record = event.Records[0];
  return `${record?.s3.bucket.name}/${record?.s3.object.key}`;
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
) {
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
