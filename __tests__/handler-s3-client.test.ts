/**
 * createS3Client: AWS by default, S3-compatible endpoints (s3rver, MinIO) with
 * AWS_ENDPOINT_URL_S3, credentials given as an argument or else the SDK's default chain.
 */

import { createS3Client } from "../handler/s3-client";

describe("createS3Client", () => {
  it("uses path-style addressing and checksums only when required for an S3-compatible endpoint", async () => {
    const client = createS3Client({ endpoint: "http://localhost:4568", region: undefined });

    expect(client.config.forcePathStyle).toBe(true);
    expect(await client.config.requestChecksumCalculation()).toBe("WHEN_REQUIRED");
    expect(await client.config.responseChecksumValidation()).toBe("WHEN_REQUIRED");
    expect(await client.config.region()).toBe("us-east-1");
    expect(await client.config.endpoint?.()).toMatchObject({ hostname: "localhost", port: 4568 });
    client.destroy();
  });

  it("keeps the SDK's defaults for AWS", async () => {
    const client = createS3Client({ endpoint: undefined, region: "eu-west-1" });

    expect(client.config.forcePathStyle).toBe(false);
    expect(await client.config.requestChecksumCalculation()).toBe("WHEN_SUPPORTED");
    expect(await client.config.region()).toBe("eu-west-1");
    client.destroy();
  });

  it("signs with the credentials it is given, not the environment's", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: "AKIAFROMTHEENVIRONMENT",
      AWS_SECRET_ACCESS_KEY: "from-the-environment",
      AWS_SESSION_TOKEN: "from-the-environment",
    });
    try {
      const client = createS3Client({
        endpoint: "http://localhost:4568",
        region: undefined,
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      });

      const credentials = await client.config.credentials();

      expect(credentials).toMatchObject({ accessKeyId: "S3RVER", secretAccessKey: "S3RVER" });
      expect(credentials.sessionToken).toBeUndefined();
      client.destroy();
    } finally {
      process.env = saved;
    }
  });
});
