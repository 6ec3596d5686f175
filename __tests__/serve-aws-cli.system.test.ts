/**
 * The local service with the AWS CLI v2 as the client (system: Debian's awscli at /usr/bin/aws,
 * npm run test:system): a real s3rver, real HTTP, the real handler and engine.
 */

import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { AWS_CLI_V2, awsCli } from "./support/aws-cli";
import { goodImages, imageInfo } from "./support/local-fixtures";
import { get, waitFor } from "./support/local-s3";
import { startTestService, type TestService } from "./support/local-service";

describe("local service and the AWS CLI v2 (system)", () => {
  let local: TestService;

  beforeAll(async () => {
    local = await startTestService();
  });

  afterAll(async () => {
    await local.close();
  });

  const thumbnailOf = (key: string) =>
    waitFor(`thumbnail of ${key}`, () => get(local.s3, "thumbnails", key));

  it("thumbnails an upload made with `aws s3 cp` (AWS CLI v2)", async () => {
    expect(existsSync(AWS_CLI_V2)).toBe(true); // .ci/run installs Debian's awscli
    const [image] = await goodImages();
    const file = path.join(local.dataDir, "photo.jpg");
    await writeFile(file, image?.data ?? "");

    await awsCli(local.service.endpoint, ["s3", "cp", file, "s3://source/cli/my photo.jpg"]);

    const thumbnail = await thumbnailOf("cli/my photo.jpg");
    expect(thumbnail.contentType).toBe("image/jpeg");
    expect(await imageInfo(thumbnail.data)).toMatchObject({
      width: image?.width,
      height: image?.height,
    });
  });
});
