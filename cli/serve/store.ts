import path from "node:path";
import type { Logger } from "../../handler/log";
import type { S3rverEvent } from "./aws-event";
import { repairStore } from "./repair-store";
import { type S3Server, startS3Server } from "./s3-server";

export interface StoreOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  /** The service's data folder: the objects are in s3/, writes in progress in tmp/. */
  readonly dataDir: string;
  readonly buckets: readonly string[];
  readonly onEvent: (event: S3rverEvent) => void;
  readonly log: Logger;
}

/**
 * The buckets on disk behind an S3-protocol server: what a crash left damaged is removed (and
 * logged) before the server opens the store, so a listing never fails on a half-written file.
 */
export async function startStore(options: StoreOptions): Promise<S3Server> {
  const storeDir = path.join(options.dataDir, "s3");
  for (const file of await repairStore(storeDir)) {
    options.log.log("warn", { msg: "removed a damaged s3rver file left by a crash", file });
  }
  return startS3Server({
    host: options.host,
    port: options.port,
    storeDir,
    tmpDir: path.join(options.dataDir, "tmp"),
    buckets: [...new Set(options.buckets)],
    onEvent: options.onEvent,
  });
}
