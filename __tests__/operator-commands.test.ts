/**
 * `npm run rollback` and `npm run status` as an operator runs them: the compiled tools
 * (dist/ops/rollback.js, status.js, what the npm scripts run after building) in a copy of the
 * project whose cdktf.json names the deployment, their AWS SDK calls answered by the SDK stand-in,
 * and scripts/smoke-test.sh replaced by a stand-in that records its arguments and passes or fails.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ScratchProject, scratchProject } from "./support/fake-tools";
import { type Answers, type SdkStandIn, sdkStandIn } from "./support/sdk-stand-in";

const ACCOUNT = "123456789012";
const REPO = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/thumbs`;
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const [PREVIOUS, RUNNING] = [digest("a"), digest("b")];
const CONFIG = `data:application/json,${encodeURIComponent('{"architecture":"amd64"}')}`;

/** A deployment "thumbs" in eu-west-1 running RUNNING, with PREVIOUS tagged `previous`. */
const ANSWERS: Answers = {
  "Lambda.GetFunction": {
    when: { FunctionName: "thumbs" },
    output: {
      Configuration: {
        FunctionName: "thumbs",
        Architectures: ["x86_64"],
        RevisionId: "rev-1",
        LastUpdateStatus: "Successful",
        MemorySize: 1024,
        Timeout: 60,
      },
      Code: { ResolvedImageUri: `${REPO}@${RUNNING}` },
    },
  },
  "Lambda.UpdateFunctionCode": { output: { LastUpdateStatus: "InProgress" } },
  "ECR.DescribeRepositories": {
    when: { repositoryNames: ["thumbs"] },
    output: { repositories: [{ repositoryUri: REPO, registryId: ACCOUNT }] },
  },
  "ECR.DescribeImages": [
    {
      when: { imageIds: [{ imageTag: "previous" }] },
      output: { imageDetails: [{ imageDigest: PREVIOUS, imageTags: ["previous"] }] },
    },
    {
      when: { imageIds: [{ imageTag: "deployed" }] },
      output: { imageDetails: [{ imageDigest: RUNNING, imageTags: ["deployed"] }] },
    },
    {
      when: { imageIds: [{ imageDigest: RUNNING }] },
      output: { imageDetails: [{ imageDigest: RUNNING, imageTags: ["deployed"] }] },
    },
  ],
  "ECR.BatchGetImage": {
    output: {
      images: [
        {
          imageManifest: '{"schemaVersion":2,"config":{"digest":"sha256:c0"}}',
          imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
        },
      ],
    },
  },
  "ECR.GetDownloadUrlForLayer": { output: { downloadUrl: CONFIG } },
  "ECR.BatchDeleteImage": { output: { failures: [] } },
  "ECR.PutImage": { output: {} },
};

let project: ScratchProject;
let sdk: SdkStandIn;

/** Runs dist/ops/TOOL.js from the scratch project, the smoke test exiting `smoke`. */
function tool(name: string, args: string[], smoke = 0, input = "") {
  writeFileSync(
    join(project.dir, "scripts", "smoke-test.sh"),
    `echo "$*" >"${join(project.dir, "smoke-args")}"\nexit ${smoke}\n`,
  );
  return spawnSync("node", [join("dist", "ops", `${name}.js`), ...args], {
    cwd: project.dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...sdk.env },
    encoding: "utf8",
    input,
    timeout: 60_000,
  });
}

beforeEach(() => {
  project = scratchProject({ name: "thumbs", region: "eu-west-1" });
  sdk = sdkStandIn(ANSWERS);
});
afterEach(() => {
  project.cleanup();
  sdk.cleanup();
});

describe("npm run rollback", () => {
  it("rolls the deployment cdktf.json names back to `previous`, smoke-tests it, moves the tags", () => {
    const run = tool("rollback", ["--to", "previous", "--yes"]);

    expect(run.stderr).not.toContain("error:");
    expect(run.status).toBe(0);
    const update = sdk.calls().find((c) => c.command === "UpdateFunctionCode");
    expect(update?.input).toEqual({
      FunctionName: "thumbs",
      ImageUri: `${REPO}@${PREVIOUS}`,
      Architectures: ["x86_64"],
      RevisionId: "rev-1",
    });
    expect(readFileSync(join(project.dir, "smoke-args"), "utf8")).toBe(
      "--function-name thumbs --region eu-west-1\n",
    );
    const puts = sdk
      .calls()
      .filter((c) => c.command === "PutImage")
      .map((c) => `${c.input.imageTag} ${c.input.imageDigest}`);
    expect(puts).toEqual([`previous ${RUNNING}`, `deployed ${PREVIOUS}`]);
    expect(run.stdout).toBe(`thumbs now runs ${REPO}@${PREVIOUS} and passed the smoke test\n`);
  });

  it("exits 1 and moves no tag when the smoke test fails", () => {
    const run = tool("rollback", ["--to", "previous", "--yes"], 1);

    expect(run.status).toBe(1);
    expect(sdk.commands()).toContain("Lambda.UpdateFunctionCode");
    expect(sdk.commands()).not.toContain("ECR.PutImage");
    expect(sdk.commands()).not.toContain("ECR.BatchDeleteImage");
    expect(run.stdout).toContain("the smoke test failed");
  });

  it("without --yes asks, and goes ahead on a yes", () => {
    const run = tool("rollback", ["--to", "previous"], 0, "y\n");

    expect(run.stderr).toContain(`Roll thumbs back to ${REPO}@${PREVIOUS}? [y/N]`);
    expect(run.status).toBe(0);
    expect(sdk.commands()).toContain("Lambda.UpdateFunctionCode");
  });

  it("without --yes and with no answer (stdin closed) changes nothing and exits 1", () => {
    const run = tool("rollback", ["--to", "previous"]);

    expect(run.status).toBe(1);
    expect(run.stdout).toBe("nothing changed\n");
    expect(sdk.commands()).not.toContain("Lambda.UpdateFunctionCode");
  });

  it("without --to prints its usage and exits 2, calling nothing", () => {
    const run = tool("rollback", []);

    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Usage: npm run rollback -- --to previous|sha256:DIGEST|COMMIT");
    expect(run.stderr).toContain("error: --to is required");
    expect(sdk.calls()).toEqual([]);
  });

  it("--help explains the targets and exits 0", () => {
    const run = tool("rollback", ["--help"]);

    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npm run rollback/);
    expect(run.stdout).toContain("commit-<amd64|arm64>-SHA");
    expect(sdk.calls()).toEqual([]);
  });
});

describe("npm run status", () => {
  it("reports the function cdktf.json names, with its drift", () => {
    const run = tool("status", []);

    expect(run.status).toBe(0);
    expect(sdk.calls()[0]).toEqual({
      service: "Lambda",
      command: "GetFunction",
      input: { FunctionName: "thumbs" },
    });
    expect(run.stdout).toContain(`digest        ${RUNNING}`);
    expect(run.stdout).toContain("tags          deployed");
    // Memory changed by hand: 1536 is the default cdktf.json leaves in place.
    expect(run.stdout).toContain("settings      drifted from what cdktf.json gives");
    expect(run.stdout).toContain("  memoryMb: deployed 1024, configured 1536\n");
  });

  it("an unknown option prints the usage and exits 2", () => {
    const run = tool("status", ["--bogus"]);

    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Usage: npm run status");
    expect(sdk.calls()).toEqual([]);
  });
});
