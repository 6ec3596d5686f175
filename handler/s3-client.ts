/** The one S3 client, for AWS or an S3-compatible endpoint (AWS_ENDPOINT_URL_S3). */

import { S3Client } from "@aws-sdk/client-s3";
import type { HandlerConfig } from "./config";

export function createS3Client(config: Pick<HandlerConfig, "region" | "endpoint">): S3Client {
  if (config.endpoint === undefined) {
    return new S3Client(config.region === undefined ? {} : { region: config.region });
  }
  return new S3Client({
    region: config.region ?? "us-east-1",
    endpoint: config.endpoint,
    // S3-compatible servers (s3rver, MinIO) serve buckets by path, not by virtual host.
    forcePathStyle: true,
    // Default flexible checksums make the SDK send aws-chunked bodies that S3-compatible servers
    // store with the chunk framing in them: only send or check checksums when an API needs them.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}
