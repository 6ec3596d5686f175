/**
 * The Lambda entry point. Configuration, S3 client and logger are made once per container at
 * module scope (a bad configuration fails the cold start with a ConfigError naming the
 * variable); each invocation only processes its event. See docs/handler.md.
 */

import type { S3Event } from "aws-lambda";
import { readConfig } from "./config";
import { createLogger } from "./log";
import { processEvent, type RecordResult } from "./process-event";
import { createS3Client } from "./s3-client";

const config = readConfig(process.env);
const deps = { config, s3: createS3Client(config), log: createLogger(config.logLevel) };

export const handler = async (event: S3Event): Promise<RecordResult[]> => processEvent(event, deps);
