import path from "node:path";
import { type HandlerConfig, readConfig } from "../../handler/config";
import type { Logger } from "../../handler/log";
import { createS3Client } from "../../handler/s3-client";
import { createSequencer, type EventSource } from "../synthetic-event";
import { type Activity, ActivityFeed } from "./activity";
import { LOCAL_CREDENTIALS } from "./credentials";
import { createEventPump } from "./event-pump";
import { FailureLog } from "./failure-log";
import { createReconciliation } from "./reconciliation";
import { sourceEvents } from "./source-events";
import { startStore } from "./store";

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
 * The whole pipeline on a laptop: s3rver with the source and destination buckets (the store),
 * its object events turned into genuine S3 notification events (source-events.ts) and delivered
 * to the handler's processEvent like Lambda's asynchronous invocation (event-pump.ts: bounded
 * queue, retries, on-failure record), and reconciliation at start-up (reconciliation.ts) so that
 * nothing uploaded is ever left unprocessed.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { log } = options;
  const dataDir = path.resolve(options.dataDir);
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
  const activity = new ActivityFeed();

  const store = await startStore({
    host: options.host,
    port: options.port,
    dataDir,
    buckets: [options.sourceBucket, options.destBucket],
    onEvent: (raw) => onEvent(raw),
    log,
  });
  const config = readConfig({
    ...options.handlerEnv,
    SOURCE_BUCKET: options.sourceBucket,
    DEST_BUCKET: options.destBucket,
    AWS_REGION: options.region,
    AWS_ENDPOINT_URL_S3: options.handlerEndpoint ?? store.endpoint,
  });
  // The handler's client signs with the credentials s3rver expects, whatever the environment holds.
  const s3 = createS3Client({ ...config, credentials: LOCAL_CREDENTIALS });
  const deps = { s3, config, log };
  const queue = createEventPump({
    deps,
    capacity: options.queueCapacity,
    concurrency: options.concurrency,
    retryDelaysMs: options.retryDelaysMs,
    failures,
    stats,
    activity,
    signal: stopping.signal,
    onGaveUp: () => reconciler.request(),
  });
  const reconciler = createReconciliation({
    deps,
    source,
    queue,
    stats,
    activity,
    prune: options.prune === true,
    retryMs: options.reconcileRetryMs,
    signal: stopping.signal,
  });
  const onEvent = sourceEvents({
    source,
    config,
    queue,
    stats,
    activity,
    onSpill: () => reconciler.request(),
  });
  reconciler.request();

  return {
    endpoint: store.endpoint,
    port: store.port,
    failureRecord: failures.file,
    stats,
    config,
    watch: (listener) => activity.watch(listener),
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
      await store.close();
      log.log("info", { msg: "stopped", waitingEventsLeftToReconciliation: dropped });
    },
  };
}
