/**
 * scripts/smoke-test.sh run for real against the recording stand-ins for aws (system: it reads
 * the thumbnail's size with Debian's `file`, so it runs in npm run test:system).
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { PROJECT_ROOT, runScript } from "./support/fake-tools";
import { rules } from "./support/script-rules";

describe("scripts/smoke-test.sh", () => {
  let images: string;
  beforeAll(async () => {
    images = mkdtempSync(join(tmpdir(), "thumbnailer-smoke-images-"));
    await sharp({ create: { width: 256, height: 192, channels: 3, background: "#3366cc" } })
      .jpeg()
      .toFile(join(images, "good.jpg"));
    await sharp({ create: { width: 256, height: 256, channels: 3, background: "#3366cc" } })
      .jpeg()
      .toFile(join(images, "square.jpg"));
  });
  afterAll(() => rmSync(images, { recursive: true, force: true }));

  /**
   * The function's env; the versioned source bucket gives the upload version v-src-1; head-object
   * finds the thumbnail (unversioned bucket: no version) on the second look; get-object copies
   * `thumbnail`.
   */
  const smokeRules = (thumbnail: string, arms = "") =>
    rules(`${arms}
    "aws lambda get-function-configuration"*)
      printf 'src-b\\tdst-b\\tuploads/\\tthumbs/\\tNone\\tNone\\tNone\\tNone\\n' ;;
    "aws s3api put-object"*) echo v-src-1 ;;
    "aws s3api head-object"*)
      if [ -f "$FAKE_DIR/looked" ]; then printf 'image/jpeg\\tNone\\n'; else touch "$FAKE_DIR/looked"; return 254; fi ;;
    "aws s3api get-object"*) for last in "$@"; do :; done; cp "${join(images, thumbnail)}" "$last" ;;`);

  const base = ["--function-name", "thumbnailer", "--region", "eu-west-1"];
  const env = { GITHUB_SHA: "abc123", SMOKE_TEST_POLL_SECONDS: "0" };

  it("uploads the fixture where the function listens, waits for its thumbnail, checks it, deletes exactly the versions it made", () => {
    // Act
    const run = runScript(
      "smoke-test.sh",
      [...base, "--source-bucket", "src-b", "--dest-bucket", "dst-b"],
      {
        rules: smokeRules("good.jpg"),
        env,
      },
    );

    // Assert
    expect(run.stderr).not.toMatch(/error:/);
    expect(run.status).toBe(0);
    const put = run.calls.find((c) => c.args[1] === "put-object");
    const key = put?.args[put.args.indexOf("--key") + 1] ?? "";
    expect(key).toMatch(/^uploads\/smoke-test\/abc123-\d{14}-\d+\.jpg$/);
    const region = "--region eu-west-1";
    const thumb = `--bucket dst-b --key thumbs/${key} ${region}`;
    expect(run.lines.map((l) => l.replace(/\S*\/thumbnailer-smoke\.\S+/g, "<tmp>"))).toEqual([
      `aws lambda get-function-configuration --function-name thumbnailer ${region} --query ` +
        "Environment.Variables.[SOURCE_BUCKET, DEST_BUCKET, SOURCE_PREFIX, DEST_PREFIX, THUMB_WIDTH, " +
        "THUMB_HEIGHT, THUMB_FIT, THUMB_FORMAT] --output text",
      `aws s3api put-object --bucket src-b --key ${key} --body ${PROJECT_ROOT}/scripts/fixtures/smoke-test.jpg ` +
        `--content-type image/jpeg ${region} --query VersionId --output text`,
      `aws s3api head-object ${thumb} --query [ContentType, VersionId] --output text`,
      `aws s3api head-object ${thumb} --query [ContentType, VersionId] --output text`,
      `aws s3api get-object ${thumb} <tmp>`,
      // The source bucket is versioned: deleting the upload's own version leaves no delete
      // marker and no noncurrent version behind.
      `aws s3api delete-object --bucket src-b --key ${key} ${region} --version-id v-src-1`,
      `aws s3api delete-object ${thumb}`,
    ]);
    expect(run.stderr).toContain("Smoke test passed");
    expect(run.stderr).toContain("256x192 jpeg");
  });

  it("fails on a thumbnail of the wrong shape, and still cleans up", () => {
    const run = runScript("smoke-test.sh", base, { rules: smokeRules("square.jpg"), env });

    expect(run.status).toBe(1);
    expect(run.stderr).toContain("the thumbnail is 256x256: not the fixture's 4:3 shape");
    expect(run.lines.filter((l) => l.startsWith("aws s3api delete-object"))).toHaveLength(2);
  });

  it("fails when no thumbnail appears in time, pointing at the logs", () => {
    const arms = `    "aws s3api head-object"*) return 254 ;;`;

    const run = runScript("smoke-test.sh", [...base, "--timeout", "0"], {
      rules: smokeRules("good.jpg", arms),
      env,
    });

    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      "no thumbnail after 0s; see the function's logs: aws logs tail /aws/lambda/thumbnailer",
    );
    expect(run.lines.filter((l) => l.startsWith("aws s3api delete-object"))).toHaveLength(2);
  });

  it("refuses GitHub variables that no longer match the function's buckets", () => {
    const run = runScript("smoke-test.sh", [...base, "--source-bucket", "old-b"], {
      rules: smokeRules("good.jpg"),
      env,
    });

    expect(run.status).toBe(1);
    expect(run.stderr).toContain("SOURCE_BUCKET is 'old-b' but the function uses 'src-b'");
    expect(run.lines.some((l) => l.includes("put-object"))).toBe(false);
  });
});
