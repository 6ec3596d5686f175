/** The one S3 client, for AWS or an S3-compatible endpoint (AWS_ENDPOINT_URL_S3). */

import { S3Client } from "@aws-sdk/client-s3";

export interface S3ClientSettings {
  readonly region: string | undefined;
  /** An S3-compatible endpoint; unset: AWS. */
  readonly endpoint: string | undefined;
  /**
   * Fixed credentials (the local S3-protocol server's); unset: the SDK's default chain, which
   * on Lambda is the function's role.
   */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export function createS3Client(settings: S3ClientSettings): S3Client {
  const credentials =
    settings.credentials === undefined ? {} : { credentials: { ...settings.credentials } };
  if (settings.endpoint === undefined) {
    return new S3Client({
      ...(settings.region === undefined ? {} : { region: settings.region }),
      ...credentials,
    });
  }
  return new S3Client({
    region: settings.region ?? "us-east-1",
    endpoint: settings.endpoint,
    ...credentials,
    // S3-compatible servers (s3rver, MinIO) serve buckets by path, not by virtual host.
    forcePathStyle: true,
    // Default flexible checksums make the SDK send aws-chunked bodies that S3-compatible servers
    // store with the chunk framing in them: only send or check checksums when an API needs them.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}
