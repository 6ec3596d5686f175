/** A real s3rver (the local service's server) on a free port, in a temporary folder, for one test file. */

import type { S3Client } from "@aws-sdk/client-s3";
import { startTemporaryS3Server } from "../../cli/serve/s3-server";
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
  const server = await startTemporaryS3Server(buckets);
  const s3 = localClient(server.endpoint);
  return {
    endpoint: server.endpoint,
    s3,
    dir: server.dir,
    storeDir: server.storeDir,
    tmpDir: server.tmpDir,
    async close() {
      s3.destroy();
      await server.close();
    },
  };
}
