/**
 * scripts/smoke-test.sh run for real against recording stand-ins for aws that act as a deployed
 * pipeline: the function's configuration and the source bucket's notification as the AWS CLI
 * prints them (--output json), and an upload the notification's filter matches "makes" the
 * thumbnails the test says the function writes (real images, generated here), at the keys the
 * test names. What the script expects is computed by ops/smoke-test.ts from that configuration.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FilterRule, LambdaFunctionConfiguration } from "@aws-sdk/client-s3";
import sharp from "sharp";
import { outputProblem, smokeTestPlan, triggerFilter } from "../ops/smoke-test";
import { PROJECT_ROOT, runScript } from "./support/fake-tools";
import { rules } from "./support/script-rules";

const FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:thumbnailer";

/** What the fake pipeline is: the function's environment, its trigger, what it writes. */
interface Pipeline {
  readonly env: Record<string, string>;
  /** The notification's filter; undefined: the bucket does not notify the function at all. */
  readonly filter?: { readonly prefix?: string; readonly suffix?: string };
  /** For each upload the filter matches: [destination key prefix, image file, Content-Type]. */
  readonly writes: readonly (readonly [string, string, string])[];
  /** Each thumbnail is missing on the first look (the function takes a moment). */
  readonly late?: boolean;
}

/** Bash: `value_of --key ARGS...` prints the value after --key in ARGS. */
const VALUE_OF = `value_of() { local want="$1"; shift; while [ "$#" -gt 1 ]; do [ "$1" = "$want" ] && { printf '%s' "$2"; return; }; shift; done; }`;

const ENV = {
  SOURCE_BUCKET: "src-b",
  DEST_BUCKET: "dst-b",
  SOURCE_PREFIX: "uploads/",
  DEST_PREFIX: "thumbs/",
};

describe("scripts/smoke-test.sh", () => {
  let dir: string;
  const image = (name: string) => join(dir, name);
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "thumbnailer-smoke-"));
    const solid = (width: number, height: number) =>
      sharp({ create: { width, height, channels: 3, background: "#3366cc" } });
    await solid(256, 192).jpeg().toFile(image("good.jpg"));
    await solid(256, 256).jpeg().toFile(image("square.jpg"));
    await solid(200, 150).webp().toFile(image("list.webp"));
    await solid(120, 120).jpeg().toFile(image("social.jpg"));
    await solid(160, 120).jpeg().toFile(image("social-4x3.jpg"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  let world = 0;
  /** Rules for the stand-ins: the pipeline, S3 keeping what it is given under $FAKE_DIR/objects. */
  function pipelineRules(pipeline: Pipeline): string {
    const files = join(dir, `world-${world++}`);
    rmSync(files, { recursive: true, force: true });
    mkdirSync(files);
    const rulesOf = Object.entries(pipeline.filter ?? {}).map(([name, value]) => ({
      Name: name === "prefix" ? "Prefix" : "Suffix",
      Value: value,
    }));
    const notification =
      pipeline.filter === undefined
        ? {}
        : {
            LambdaFunctionConfigurations: [
              {
                Id: "tf-s3-lambda-20261207",
                LambdaFunctionArn: FUNCTION_ARN,
                Events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                ...(rulesOf.length === 0 ? {} : { Filter: { Key: { FilterRules: rulesOf } } }),
              },
            ],
          };
    const fn = {
      FunctionName: "thumbnailer",
      FunctionArn: FUNCTION_ARN,
      Environment: { Variables: pipeline.env },
    };
    writeFileSync(join(files, "function.json"), JSON.stringify(fn, null, 4));
    writeFileSync(join(files, "notification.json"), JSON.stringify(notification, null, 4));
    writeFileSync(
      join(files, "writes.tsv"),
      pipeline.writes.map((w) => `${w.join("\t")}\n`).join(""),
    );
    const { prefix = "", suffix = "" } = pipeline.filter ?? {};
    return `${VALUE_OF}\n${rules(`
    "aws lambda get-function-configuration"*) cat "${files}/function.json" ;;
    "aws s3api get-bucket-notification-configuration"*) cat "${files}/notification.json" ;;
    "aws s3api put-object"*)
      key="$(value_of --key "$@")"
      if ${pipeline.filter === undefined ? "false" : "true"} && [[ "$key" == '${prefix}'* && "$key" == *'${suffix}' ]]; then
        while IFS=$'\\t' read -r prefix file type; do
          mkdir -p "$(dirname "$FAKE_DIR/objects/$prefix$key")"
          cp "$file" "$FAKE_DIR/objects/$prefix$key"
          printf '%s' "$type" >"$FAKE_DIR/objects/$prefix$key.type"
        done <"${files}/writes.tsv"
      fi
      echo v-src-1 ;;
    "aws s3api head-object"*)
      key="$(value_of --key "$@")"
      if ${pipeline.late ? "true" : "false"} && [ ! -f "$FAKE_DIR/objects/$key.looked" ] && [ -f "$FAKE_DIR/objects/$key" ]; then
        touch "$FAKE_DIR/objects/$key.looked"; key=missing
      fi
      if [ -f "$FAKE_DIR/objects/$key" ]; then printf '%s\\tNone\\n' "$(cat "$FAKE_DIR/objects/$key.type")"
      else echo "An error occurred (404) when calling the HeadObject operation: Not Found" >&2; return 254; fi ;;
    "aws s3api get-object"*)
      key="$(value_of --key "$@")"
      for last in "$@"; do :; done
      cp "$FAKE_DIR/objects/$key" "$last" ;;`)}`;
  }

  const base = ["--function-name", "thumbnailer", "--region", "eu-west-1"];
  const env = { GITHUB_SHA: "abc123", SMOKE_TEST_POLL_SECONDS: "0" };
  const keyOf = (run: ReturnType<typeof runScript>, call: string) =>
    run.calls
      .filter((c) => c.args[1] === call)
      .map((c) => c.args[c.args.indexOf("--key") + 1] ?? "");

  it("uploads the fixture where the function listens, waits for its thumbnail, checks it, deletes exactly the versions it made", () => {
    // Arrange
    const pipeline: Pipeline = {
      env: ENV,
      filter: { prefix: "uploads/" },
      writes: [["thumbs/", image("good.jpg"), "image/jpeg"]],
      late: true,
    };

    // Act
    const run = runScript(
      "smoke-test.sh",
      [...base, "--source-bucket", "src-b", "--dest-bucket", "dst-b"],
      { rules: pipelineRules(pipeline), env },
    );

    // Assert
    expect(run.stderr).not.toMatch(/error:/);
    expect(run.status).toBe(0);
    const [key = ""] = keyOf(run, "put-object");
    expect(key).toMatch(/^uploads\/smoke-test\/abc123-\d{14}-\d+\.jpg$/);
    const region = "--region eu-west-1";
    const thumb = `--bucket dst-b --key thumbs/${key} ${region}`;
    expect(run.lines.map((l) => l.replace(/\S*\/thumbnailer-smoke\.\S+/g, "<tmp>"))).toEqual([
      `aws lambda get-function-configuration --function-name thumbnailer ${region} --output json`,
      `aws s3api get-bucket-notification-configuration --bucket src-b ${region} --output json`,
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
    expect(run.stderr).toContain("default: 256x192 jpeg");
  });

  it("with RENDITIONS, waits for and checks exactly each rendition's key, format and size, and deletes each", () => {
    // Arrange: the product-page shape: no rendition at DEST_PREFIX itself
    const renditions = [
      { name: "list", width: 200, height: 200, format: "webp" },
      { name: "social", width: 120, height: 120, fit: "cover", prefix: "og/" },
    ];
    const pipeline: Pipeline = {
      env: { ...ENV, RENDITIONS: JSON.stringify(renditions) },
      filter: { prefix: "uploads/" },
      writes: [
        ["thumbs/list/", image("list.webp"), "image/webp"],
        ["thumbs/og/", image("social.jpg"), "image/jpeg"],
      ],
    };

    // Act
    const run = runScript("smoke-test.sh", [...base, "--timeout", "0"], {
      rules: pipelineRules(pipeline),
      env,
    });

    // Assert
    expect(run.stderr).not.toMatch(/error:/);
    expect(run.status).toBe(0);
    const [key] = keyOf(run, "put-object");
    const expected = [`thumbs/list/${key}`, `thumbs/og/${key}`];
    expect(keyOf(run, "head-object")).toEqual(expected);
    expect(keyOf(run, "get-object")).toEqual(expected);
    expect(keyOf(run, "delete-object").sort()).toEqual([key, ...expected].sort());
    expect(run.stderr).toContain("list: 200x150 webp");
    expect(run.stderr).toContain("social: 120x120 jpeg");
  });

  it("with RENDITIONS, fails naming the rendition whose output is not what the configuration makes", () => {
    const renditions = [
      { name: "list", width: 200, height: 200, format: "webp" },
      { name: "social", width: 120, height: 120, fit: "cover" },
    ];
    const pipeline: Pipeline = {
      env: { ...ENV, RENDITIONS: JSON.stringify(renditions) },
      filter: { prefix: "uploads/" },
      writes: [
        ["thumbs/list/", image("list.webp"), "image/webp"],
        ["thumbs/social/", image("social-4x3.jpg"), "image/jpeg"],
      ],
    };

    const run = runScript("smoke-test.sh", [...base, "--timeout", "0"], {
      rules: pipelineRules(pipeline),
      env,
    });

    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/social.*is 160x120 jpeg, expected 120x120 jpeg/);
    expect(keyOf(run, "delete-object")).toHaveLength(3);
  });

  it("uploads a key the notification's suffix matches (.png), though the fixture is a JPEG", () => {
    const pipeline: Pipeline = {
      env: ENV,
      filter: { prefix: "uploads/", suffix: ".png" },
      writes: [["thumbs/", image("good.jpg"), "image/jpeg"]],
    };

    const run = runScript("smoke-test.sh", [...base, "--timeout", "0"], {
      rules: pipelineRules(pipeline),
      env,
    });

    expect(run.stderr).not.toMatch(/error:/);
    expect(run.status).toBe(0);
    const [key] = keyOf(run, "put-object");
    expect(key).toMatch(/^uploads\/smoke-test\/abc123-\d{14}-\d+\.png$/);
    expect(keyOf(run, "head-object")).toEqual([`thumbs/${key}`]);
  });

  it("refuses, uploading nothing, when the source bucket does not notify the function", () => {
    const pipeline: Pipeline = { env: ENV, writes: [] };

    const run = runScript("smoke-test.sh", base, { rules: pipelineRules(pipeline), env });

    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      `s3://src-b sends no object-created notification to ${FUNCTION_ARN}`,
    );
    expect(keyOf(run, "put-object")).toEqual([]);
  });

  it("fails on a thumbnail of the wrong shape, and still cleans up", () => {
    const pipeline: Pipeline = {
      env: ENV,
      filter: { prefix: "uploads/" },
      writes: [["thumbs/", image("square.jpg"), "image/jpeg"]],
    };

    const run = runScript("smoke-test.sh", base, { rules: pipelineRules(pipeline), env });

    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/default.*is 256x256 jpeg, expected 256x192 jpeg/);
    expect(run.lines.filter((l) => l.startsWith("aws s3api delete-object"))).toHaveLength(2);
  });

  it("fails when no thumbnail appears in time, pointing at the logs", () => {
    const pipeline: Pipeline = { env: ENV, filter: { prefix: "uploads/" }, writes: [] };

    const run = runScript("smoke-test.sh", [...base, "--timeout", "0"], {
      rules: pipelineRules(pipeline),
      env,
    });

    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      "after 0s; see the function's logs: aws logs tail /aws/lambda/thumbnailer",
    );
    expect(run.lines.filter((l) => l.startsWith("aws s3api delete-object"))).toHaveLength(2);
  });

  it("refuses GitHub variables that no longer match the function's buckets", () => {
    const pipeline: Pipeline = { env: ENV, filter: { prefix: "uploads/" }, writes: [] };

    const run = runScript("smoke-test.sh", [...base, "--source-bucket", "old-b"], {
      rules: pipelineRules(pipeline),
      env,
    });

    expect(run.status).toBe(1);
    expect(run.stderr).toContain("SOURCE_BUCKET is 'old-b' but the function uses 'src-b'");
    expect(run.lines.some((l) => l.includes("put-object"))).toBe(false);
  });
});

describe("ops/smoke-test.ts", () => {
  const fixture = join(PROJECT_ROOT, "scripts", "fixtures", "smoke-test.jpg");
  const uploads = (rules: FilterRule[]): LambdaFunctionConfiguration => ({
    LambdaFunctionArn: FUNCTION_ARN,
    Events: ["s3:ObjectCreated:*"],
    Filter: { Key: { FilterRules: rules } },
  });
  // S3 answers "Prefix"/"Suffix" where the SDK's type says "prefix"/"suffix".
  const rule = (Name: string, Value: string) => ({ Name, Value }) as FilterRule;

  it("reads the filter of the notification that sends uploads to this function, not another's", () => {
    const filter = triggerFilter(
      {
        LambdaFunctionConfigurations: [
          {
            ...uploads([rule("Prefix", "other/")]),
            LambdaFunctionArn: `${FUNCTION_ARN}-2`,
          },
          { ...uploads([rule("Prefix", "gone/")]), Events: ["s3:ObjectRemoved:*"] },
          uploads([rule("prefix", "uploads/"), rule("Suffix", ".JPG")]),
        ],
      },
      FUNCTION_ARN,
      "src-b",
    );

    expect(filter).toEqual({ prefix: "uploads/", suffix: ".JPG" });
  });

  it("refuses a trigger prefix that is not the function's SOURCE_PREFIX (a deploy half done)", async () => {
    const plan = smokeTestPlan(
      { FunctionArn: FUNCTION_ARN, Environment: { Variables: ENV } },
      { LambdaFunctionConfigurations: [uploads([rule("Prefix", "photos/")])] },
      fixture,
      "run-1",
    );

    await expect(plan).rejects.toThrow(
      'notifies the function of keys under "photos/" but its SOURCE_PREFIX is "uploads/"',
    );
  });

  it("checks an output's Content-Type, format and size, AVIF included", async () => {
    const dir = mkdtempSync(join(tmpdir(), "thumbnailer-smoke-check-"));
    try {
      const file = join(dir, "out.avif");
      await sharp({ create: { width: 64, height: 48, channels: 3, background: "#808080" } })
        .avif()
        .toFile(file);
      const expected = {
        key: "thumbs/a/k.jpg",
        rendition: "a",
        format: "avif",
        width: 64,
        height: 48,
        contentType: "image/avif",
      };

      expect(await outputProblem(file, "image/avif", expected)).toBeUndefined();
      expect(await outputProblem(file, "image/jpeg", expected)).toBe(
        `rendition "a" (thumbs/a/k.jpg) has Content-Type 'image/jpeg', expected image/avif`,
      );
      expect(await outputProblem(file, "image/avif", { ...expected, width: 48 })).toBe(
        `rendition "a" (thumbs/a/k.jpg) is 64x48 avif, expected 48x48 avif`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
