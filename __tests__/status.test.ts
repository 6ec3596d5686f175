/**
 * `npm run status` (ops/status.ts) against the AWS SDK's Lambda and ECR clients mocked at the SDK
 * level (aws-sdk-client-mock): what the function runs, the commit its image's tags name, and where
 * its settings differ from what cdktf.json gives. No request reaches AWS.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { GetFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { type DeploymentTarget, deploymentTarget, formatStatus, readStatus } from "../ops/status";

const ACCOUNT = "123456789012";
const REPO = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/thumbs`;
const RUNNING = `sha256:${"b".repeat(64)}`;
const SHA = "0123456789abcdef0123456789abcdef01234567";
const BUCKETS = {
  SOURCE_BUCKET: `thumbs-source-${ACCOUNT}-eu-west-1`,
  DEST_BUCKET: `thumbs-thumbnails-${ACCOUNT}-eu-west-1`,
};

const lambda = mockClient(LambdaClient);
const ecr = mockClient(ECRClient);
const clients = () => ({
  lambda: new LambdaClient({ region: "eu-west-1" }),
  ecr: new ECRClient({ region: "eu-west-1" }),
});

let dir: string;
/** The deployment cdktf.json `context` names, with `env` as the shell's. */
function target(context: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): DeploymentTarget {
  writeFileSync(join(dir, "cdktf.json"), JSON.stringify({ app: "x", context }));
  return deploymentTarget(dir, env);
}

/** A function as the stack made it from CONTEXT, with `changes` on top. */
function deployed(
  changes: {
    env?: Record<string, string>;
    memory?: number;
    architecture?: "x86_64" | "arm64";
  } = {},
) {
  lambda.on(GetFunctionCommand, { FunctionName: "thumbs" }).resolves({
    Configuration: {
      FunctionName: "thumbs",
      Architectures: [changes.architecture ?? "arm64"],
      MemorySize: changes.memory ?? 2048,
      Timeout: 60,
      State: "Active",
      LastUpdateStatus: "Successful",
      LastModified: "2026-12-07T08:00:00.000+0000",
      Environment: { Variables: { THUMB_WIDTH: "320", ...BUCKETS, ...changes.env } },
    },
    Code: { ResolvedImageUri: `${REPO}@${RUNNING}` },
  });
  ecr
    .on(DescribeRepositoriesCommand, { repositoryNames: ["thumbs"] })
    .resolves({ repositories: [{ repositoryUri: REPO, registryId: ACCOUNT }] });
  ecr.on(DescribeImagesCommand, { imageIds: [{ imageDigest: RUNNING }] }).resolves({
    imageDetails: [{ imageDigest: RUNNING, imageTags: [`commit-arm64-${SHA}`, "deployed"] }],
  });
}

const CONTEXT = {
  name: "thumbs",
  region: "eu-west-1",
  architecture: "arm64",
  memoryMb: 2048,
  thumbWidth: 320,
};

beforeEach(() => {
  lambda.reset();
  ecr.reset();
  dir = mkdtempSync(join(tmpdir(), "status-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the deployment status", () => {
  it("names the function and repository after cdktf.json's name, in its region; the environment wins", () => {
    expect(target(CONTEXT)).toMatchObject({
      functionName: "thumbs",
      repositoryName: "thumbs",
      region: "eu-west-1",
    });
    const other = target(CONTEXT, { THUMBNAILER_NAME: "thumbs-test" });
    expect(other.functionName).toBe("thumbs-test");
    expect(other.overrides).toEqual([
      'THUMBNAILER_NAME=thumbs-test overrides cdktf.json context name "thumbs"',
    ]);
  });

  it("says what runs: image, digest, the commit its tags name, architecture, last update; no drift", async () => {
    deployed();

    const status = await readStatus(clients(), target(CONTEXT));

    expect(status).toMatchObject({
      functionName: "thumbs",
      image: `${REPO}@${RUNNING}`,
      digest: RUNNING,
      commit: SHA,
      tags: [`commit-arm64-${SHA}`, "deployed"],
      architecture: "arm64",
      lastUpdate: "Successful",
      drift: [],
    });
    expect(formatStatus(status)).toEqual([
      "function      thumbs (eu-west-1), Active",
      `image         ${REPO}@${RUNNING}`,
      `digest        ${RUNNING}`,
      `commit        ${SHA}`,
      `tags          commit-arm64-${SHA}, deployed`,
      "architecture  arm64",
      "last update   Successful at 2026-12-07T08:00:00.000+0000",
      "settings      as cdktf.json gives them: no drift",
    ]);
  });

  it("lists each setting where the function differs from what cdktf.json gives", async () => {
    // Arrange: memory and a width changed by hand, a quality the settings do not set, and the
    // architecture cdktf.json asks for not yet deployed
    deployed({
      memory: 1024,
      architecture: "x86_64",
      env: { THUMB_WIDTH: "256", THUMB_QUALITY: "90" },
    });

    const status = await readStatus(clients(), target(CONTEXT));

    expect(status.drift).toEqual([
      { setting: "architecture", deployed: "x86_64", configured: "arm64" },
      { setting: "memoryMb", deployed: "1024", configured: "2048" },
      { setting: "thumbQuality (THUMB_QUALITY)", deployed: "90", configured: undefined },
      { setting: "thumbWidth (THUMB_WIDTH)", deployed: "256", configured: "320" },
    ]);
    expect(formatStatus(status)).toContain("  memoryMb: deployed 1024, configured 2048");
    expect(formatStatus(status)).toContain(
      "  thumbQuality (THUMB_QUALITY): deployed 90, configured (not set)",
    );
  });

  it("a source prefix in cdktf.json the function lacks is drift of notificationPrefix", async () => {
    deployed();

    const status = await readStatus(clients(), target({ ...CONTEXT, notificationPrefix: "in/" }));

    expect(status.drift).toEqual([
      { setting: "notificationPrefix (SOURCE_PREFIX)", deployed: undefined, configured: "in/" },
    ]);
  });

  it("says when the function does not exist", async () => {
    lambda
      .on(GetFunctionCommand)
      .rejects(Object.assign(new Error("nope"), { name: "ResourceNotFoundException" }));

    await expect(readStatus(clients(), target(CONTEXT))).rejects.toThrow(
      "there is no function thumbs in eu-west-1: deploy it first",
    );
  });
});
