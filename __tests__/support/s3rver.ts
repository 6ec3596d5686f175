/** A real s3rver (the local service's server) on a free port, in a temporary folder, for one test file. */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { startS3Server } from "../../local/serve/s3-server";
import { localClient } from "./local-s3";

export interface TestS3 {
  readonly endpoint: string;
  readonly s3: S3Client;
  /** Stops the server and removes its folder. */
  close(): Promise<void>;
}

export async function startTestS3(buckets: readonly string[]): Promise<TestS3> {
  const dir = await mkdtemp(path.join(tmpdir(), "thumbnailer-s3rver-"));
  const server = await startS3Server({
    host: "127.0.0.1",
    port: 0,
    storeDir: path.join(dir, "s3"),
    tmpDir: path.join(dir, "tmp"),
    buckets,
    onEvent: () => undefined,
  });
  const s3 = localClient(server.endpoint);
  return {
    endpoint: server.endpoint,
    s3,
    async close() {
      s3.destroy();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
