/**
 * The Lambda entry point. Configuration, S3 client and logger are made once per container at
 * module scope (a bad configuration fails the cold start with a ConfigError naming the
 * variable); each invocation only processes its event: S3 event notifications (uploads and
 * removals) or S3 Batch Operations tasks (backfill). See docs/handler.md.
 */

import type { S3Event } from "aws-lambda";
import { type BatchEvent, type BatchResult, isBatchEvent, processBatchEvent } from "./batch-event";
import { readConfig } from "./config";
import { configureSharp } from "./engine";
import { createLogger } from "./log";
import { processEvent, type RecordResult } from "./process-event";
import { createS3Client } from "./s3-client";

configureSharp();
const config = readConfig(process.env);
const deps = { config, s3: createS3Client(config), log: createLogger(config.logLevel) };

export async function handler(event: S3Event): Promise<RecordResult[]>;
export async function handler(event: BatchEvent): Promise<BatchResult>;
export async function handler(event: S3Event | BatchEvent): Promise<RecordResult[] | BatchResult> {
  return isBatchEvent(event) ? processBatchEvent(event, deps) : processEvent(event, deps);
}
