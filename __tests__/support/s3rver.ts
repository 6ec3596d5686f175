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
  /** The temporary folder, removed by close(); storeDir and tmpDir are inside it. */
  readonly dir: string;
  /** Where s3rver keeps the buckets' objects and side files. */
  readonly storeDir: string;
  /** Where s3rver writes an object's bytes until the upload is complete. */
  readonly tmpDir: string;
  /** Stops the server and removes its folder. */
  close(): Promise<void>;
}

export async function startTestS3(buckets: readonly string[]): Promise<TestS3> {
  const dir = await mkdtemp(path.join(tmpdir(), "thumbnailer-s3rver-"));
  const storeDir = path.join(dir, "s3");
  const tmpDir = path.join(dir, "tmp");
  const server = await startS3Server({
    host: "127.0.0.1",
    port: 0,
    storeDir,
    tmpDir,
    buckets,
    onEvent: () => undefined,
  });
  const s3 = localClient(server.endpoint);
  return {
    endpoint: server.endpoint,
    s3,
    dir,
    storeDir,
    tmpDir,
    async close() {
      s3.destroy();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
