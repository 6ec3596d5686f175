/** Starts the local service in-process on a free port and a temporary data folder. */

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { type Service, type ServiceOptions, startService } from "../../cli/serve/service";
import { configureSharp } from "../../handler/engine";
import type { LogLevel } from "../../handler/log";
import { localClient } from "./local-s3";

export interface TestService {
  readonly service: Service;
  readonly s3: S3Client;
  readonly dataDir: string;
  /** Log lines written so far, parsed. */
  readonly logs: Record<string, unknown>[];
  /** The on-failure record's entries so far. */
  failures(): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function startTestService(
  overrides: Partial<ServiceOptions> = {},
): Promise<TestService> {
  const dataDir = overrides.dataDir ?? (await mkdtemp(path.join(tmpdir(), "thumbnailer-serve-")));
  const logs: Record<string, unknown>[] = [];
  configureSharp(); // as `thumbnailer serve` does before it starts the service
  const service = await startService({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    sourceBucket: "source",
    destBucket: "thumbnails",
    region: "us-east-1",
    handlerEnv: {},
    concurrency: 4,
    queueCapacity: 1000,
    retryDelaysMs: [200, 400],
    reconcileRetryMs: 500,
    log: {
      log(level: LogLevel, fields: Record<string, unknown>) {
        logs.push({ level, ...fields });
      },
    },
    ...overrides,
  });
  const s3 = localClient(service.endpoint);
  return {
    service,
    s3,
    dataDir,
    logs,
    async failures() {
      const text = await readFile(service.failureRecord, "utf8").catch(() => "");
      return text
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    async close() {
      s3.destroy();
      await service.stop();
      if (overrides.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
