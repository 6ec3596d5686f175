/** createS3Client: AWS by default, S3-compatible endpoints (s3rver, MinIO) with AWS_ENDPOINT_URL_S3. */

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
});
