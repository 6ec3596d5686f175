/**
 * Remote Terraform state through the scripts (issue 19), run for real in a scratch copy of the
 * project: bootstrap.sh's "Create or reuse the state bucket" step and scripts/migrate-state.sh,
 * with the recording aws/gh/terraform/npx stand-ins on PATH and ops/state-bucket.ts's SDK calls
 * answered by the SDK stand-in (support/sdk-stand-in.ts).
 */

import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  runScript,
  type ScratchProject,
  type ScriptOptions,
  scratchProject,
} from "./support/fake-tools";
import { type SynthedInfra, synthInfra } from "./support/infra";
import { ACCOUNT, rules } from "./support/script-rules";
import {
  type Answers,
  CALLER,
  type SdkStandIn,
  sdkStandIn,
  withNewAccount,
} from "./support/sdk-stand-in";
import { newStateBucket, ownStateBucket } from "./support/state-bucket-answers";

jest.setTimeout(120_000); // bootstrap synthesizes the stacks

const BUCKET = `thumbnailer-tfstate-${ACCOUNT}-eu-west-1`;
const TOOL = "state-bucket";
const STACKS = ["dependencies", "lambda"];
const key = (stack: string) => `thumbnailer/eu-west-1/${stack}.tfstate`;

let project: ScratchProject;
let sdk: SdkStandIn | undefined;
afterEach(() => {
  project.cleanup();
  sdk?.cleanup();
  sdk = undefined;
});

/** Runs `script` in a scratch project with `context`, its SDK calls answered by `answers`. */
function run(
  script: string,
  args: string[],
  context: Record<string, unknown>,
  answers: Answers,
  options: ScriptOptions = {},
) {
  project = scratchProject(context);
  sdk = sdkStandIn({ ...CALLER, ...answers });
  return runScript(script, args, {
    project: project.dir,
    ...options,
    env: { ...options.env, ...sdk.env },
  });
}
/** The calls of ops/state-bucket.ts (bootstrap's account preflight makes its own). */
const stateCalls = () => sdk?.calls(TOOL) ?? [];
const stateCommands = () => sdk?.commands(TOOL) ?? [];
const s3Commands = () => stateCommands().filter((c) => c.startsWith("S3."));
const localState = (stack: string) =>
  join(project.dir, `terraform.thumbnailer-eu-west-1-${stack}.tfstate`);

/**
 * A stand-in `cdktf synth` writing what the scripts read of a synth: each stack's backend block,
 * S3 when THUMBNAILER_STATE_BUCKET is set, else a local file at the project root as
 * stacks/stack-base.ts names it. Each synth's bucket (or "local") goes to $FAKE_DIR/synths.
 */
const BACKEND_SYNTH = `
    "npx cdktf synth"*)
      printf '%s\\n' "\${THUMBNAILER_STATE_BUCKET:-local}" >>"$FAKE_DIR/synths"
      for stack in ${STACKS.join(" ")}; do
        mkdir -p "cdktf.out/stacks/$stack"
        if [ -n "\${THUMBNAILER_STATE_BUCKET:-}" ]; then
          backend="{\\"s3\\": {\\"bucket\\": \\"$THUMBNAILER_STATE_BUCKET\\", \\"key\\": \\"thumbnailer/eu-west-1/$stack.tfstate\\"}}"
        else
          backend="{\\"local\\": {\\"path\\": \\"$PWD/terraform.thumbnailer-eu-west-1-$stack.tfstate\\"}}"
        fi
        printf '{"terraform": {"backend": %s}}' "$backend" >"cdktf.out/stacks/$stack/cdk.tf.json"
      done ;;`;

describe("bootstrap.sh: Create or reuse the state bucket", () => {
  let synthed: SynthedInfra;
  beforeAll(() => {
    synthed = synthInfra({ region: "eu-west-1", githubRepository: "acme/thumbs" }, {});
  });
  afterAll(() => synthed.cleanup());
  /**
   * bootstrap.sh on a real synth. Its account preflight finds a new account; the state bucket's
   * HeadBucket answer is for the state bucket only.
   */
  const bootstrap = (
    args: string[],
    context: Record<string, unknown>,
    answers: Answers,
    arms = "",
  ) => {
    const Bucket = (context.stateBucket as string | undefined) ?? BUCKET;
    const head = answers["S3.HeadBucket"] as Answers[string] & { when?: unknown };
    const own =
      head === undefined ? answers : { ...answers, "S3.HeadBucket": { ...head, when: { Bucket } } };
    return run(
      "bootstrap.sh",
      ["--yes", "--repo", "acme/thumbs", ...args],
      context,
      withNewAccount(own),
      {
        rules: rules(arms),
        env: { SYNTH_OUT: synthed.outdir },
      },
    );
  };

  it("creates the bucket, persists it before the deploy, and a plain synth afterwards keeps state there", () => {
    // Act
    const result = bootstrap([], { region: "eu-west-1" }, newStateBucket());

    // Assert
    expect(result.stderr).not.toMatch(/error:/);
    expect(result.status).toBe(0);
    expect(stateCommands()).toEqual([
      "STS.GetCallerIdentity",
      "S3.HeadBucket",
      "S3.CreateBucket",
      "S3.PutBucketTagging",
      "S3.PutBucketVersioning",
      "S3.PutBucketEncryption",
      "S3.PutPublicAccessBlock",
      "S3.PutBucketOwnershipControls",
      "S3.PutBucketPolicy",
    ]);
    expect(stateCalls()[2]?.input).toEqual({
      Bucket: BUCKET,
      ObjectOwnership: "BucketOwnerEnforced",
      CreateBucketConfiguration: { LocationConstraint: "eu-west-1" },
    });
    const persisted = { stateBucket: BUCKET, stateRegion: "eu-west-1" };
    expect(JSON.parse(result.files("deploy-saw-cdktf.json")).context).toMatchObject(persisted);
    expect(project.context()).toMatchObject(persisted);
    expect(result.stderr).toContain(`created the state bucket ${BUCKET} in eu-west-1`);

    // What `npm run deploy` plans later from the checkout alone: the S3 backend, locked
    const later = synthInfra(project.context(), {});
    try {
      expect(later.stacks.lambda.json.terraform).toMatchObject({
        backend: {
          s3: { bucket: BUCKET, key: key("lambda"), region: "eu-west-1", use_lockfile: true },
        },
      });
    } finally {
      later.cleanup();
    }
  });

  it("reuses the persisted stateBucket: checks it, creates none", () => {
    // Act
    const result = bootstrap(
      [],
      { region: "eu-west-1", stateBucket: "acme-tfstate" },
      ownStateBucket("eu-west-1"),
    );

    // Assert
    expect(result.status).toBe(0);
    expect(stateCalls().find((c) => c.command === "HeadBucket")?.input).toEqual({
      Bucket: "acme-tfstate",
      ExpectedBucketOwner: ACCOUNT,
    });
    expect(s3Commands()).not.toContain("S3.CreateBucket");
    expect(project.context()).toMatchObject({ stateBucket: "acme-tfstate" });
    expect(result.lines.some((l) => l.startsWith("npx cdktf deploy"))).toBe(true);
  });

  it("refuses a deployment that still has local state files, pointing to migrate-state.sh", () => {
    // Arrange: the stacks keep state in local files (where the synth names them), one applied
    const backend = synthed.stacks.dependencies.json.terraform as {
      backend: { local: { path: string } };
    };
    const applied = backend.backend.local.path;
    writeFileSync(applied, '{"serial": 4}');
    let result: ReturnType<typeof runScript>;
    try {
      result = bootstrap([], { region: "eu-west-1" }, newStateBucket());
    } finally {
      rmSync(applied, { force: true });
    }

    // Assert
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("keeps its Terraform state in local files");
    expect(result.stderr).toContain("scripts/migrate-state.sh");
    expect(stateCommands()).toEqual([]);
    expect(result.lines.some((l) => l.startsWith("npx cdktf deploy"))).toBe(false);
  });

  it("--local-state keeps today's local state files: no bucket, nothing persisted, and says so", () => {
    // Act
    const result = bootstrap(["--local-state"], { region: "eu-west-1" }, newStateBucket());

    // Assert
    expect(result.status).toBe(0);
    expect(stateCommands()).toEqual([]);
    expect(project.context()).not.toHaveProperty("stateBucket");
    expect(result.stderr).toContain("--local-state: Terraform state stays in local files");
    expect(result.lines.some((l) => l.startsWith("npx cdktf deploy"))).toBe(true);
  });

  it("--local-state with a stateBucket set is refused: the state would not be local", () => {
    // Act
    const result = bootstrap(
      ["--local-state"],
      { region: "eu-west-1", stateBucket: "acme-tfstate" },
      ownStateBucket("eu-west-1"),
      `
    "aws s3api head-object"*) echo '{}' ;;`,
    );

    // Assert
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("--local-state, but stateBucket is set to acme-tfstate");
    expect(result.lines.some((l) => l.startsWith("npx cdktf deploy"))).toBe(false);
  });
});

describe("scripts/migrate-state.sh", () => {
  /**
   * A stand-in `terraform init -migrate-state` that copies as the real one does: the stack's
   * state object exists from then on (added to the SDK stand-in's scenario, which every later
   * ops tool process reads). Until then, HeadObject finds nothing.
   */
  const COPYING_TERRAFORM = `
    "terraform -chdir=cdktf.out/stacks/"*" init -migrate-state"*)
      node -e '
        const fs = require("node:fs");
        const scenario = JSON.parse(fs.readFileSync(process.env.SDK_STAND_IN, "utf8"));
        const found = { when: { Key: process.argv[1] }, output: { ContentLength: 100 } };
        scenario.answers["S3.HeadObject"] = [found, ...[].concat(scenario.answers["S3.HeadObject"] ?? [])];
        fs.writeFileSync(process.env.SDK_STAND_IN, JSON.stringify(scenario));
      ' "thumbnailer/eu-west-1/\${1#-chdir=cdktf.out/stacks/}.tfstate" ;;`;
  const nothingThere: Answers = { "S3.HeadObject": { error: "NotFound", status: 404 } };
  /** A deployment with local state for both stacks; `answers` for the SDK. */
  function migrate(
    answers: Answers,
    args: string[] = [],
    context: Record<string, unknown> = { region: "eu-west-1" },
    terraform = COPYING_TERRAFORM,
  ) {
    project = scratchProject(context);
    for (const stack of STACKS) writeFileSync(localState(stack), `{"stack": "${stack}"}`);
    sdk = sdkStandIn({ ...CALLER, ...answers });
    return runScript("migrate-state.sh", args, {
      project: project.dir,
      rules: rules(BACKEND_SYNTH + terraform),
      env: sdk.env,
    });
  }
  const terraform = (lines: string[]) => lines.filter((l) => l.startsWith("terraform -chdir"));

  it("records the local backend, copies each stack with -migrate-state, checks it, persists, keeps the old files", () => {
    // Act
    const result = migrate(newStateBucket(nothingThere));

    // Assert
    expect(result.stderr).not.toMatch(/error:/);
    expect(result.status).toBe(0);
    const steps = result.lines.filter((l) => /^(npx|terraform -chdir)/.test(l));
    expect(steps).toEqual([
      "npx cdktf synth",
      ...STACKS.map((s) => `terraform -chdir=cdktf.out/stacks/${s} init -input=false`),
      "npx cdktf synth",
      ...STACKS.map(
        (s) =>
          `terraform -chdir=cdktf.out/stacks/${s} init -migrate-state -force-copy -input=false`,
      ),
    ]);
    // The first synth with the local backend, the second with the bucket
    expect(result.files("synths").trim().split("\n")).toEqual(["local", BUCKET]);
    expect(sdk?.commands().filter((c) => c === "S3.CreateBucket")).toHaveLength(1);
    expect(
      sdk
        ?.calls()
        .filter((c) => c.command === "HeadObject")
        .map((c) => c.input.Key),
    ).toEqual([key("dependencies"), key("lambda"), key("dependencies"), key("lambda")]);
    expect(project.context()).toEqual({
      region: "eu-west-1",
      stateBucket: BUCKET,
      stateRegion: "eu-west-1",
    });
    for (const stack of STACKS) {
      expect(existsSync(localState(stack))).toBe(false);
      expect(readFileSync(`${localState(stack)}.migrated`, "utf8")).toBe(`{"stack": "${stack}"}`);
    }
  });

  it("refuses when the bucket already holds a state at a key: no terraform, nothing persisted or renamed", () => {
    // Act
    const result = migrate(
      ownStateBucket("eu-west-1", {
        "S3.HeadObject": [
          { when: { Key: key("lambda") }, output: { ContentLength: 100 } },
          { error: "NotFound", status: 404 },
        ],
      }),
    );

    // Assert
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `already holds s3://${BUCKET}/${key("lambda")}: migrating would overwrite it`,
    );
    expect(terraform(result.lines)).toEqual([]);
    expect(project.context()).toEqual({ region: "eu-west-1" });
    for (const stack of STACKS) expect(existsSync(localState(stack))).toBe(true);
  });

  it("stops when a copy is not in the bucket afterwards, leaving the local state in use", () => {
    // Act: terraform says it copied, but nothing is in the bucket
    const result = migrate(newStateBucket(nothingThere), [], { region: "eu-west-1" }, "");

    // Assert
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`s3://${BUCKET}/${key("dependencies")} does not exist`);
    expect(result.stderr).toContain(`s3://${BUCKET}/${key("lambda")} does not exist`);
    expect(result.stderr).toContain("the local state is untouched and still in use");
    expect(project.context()).toEqual({ region: "eu-west-1" });
    for (const stack of STACKS) expect(existsSync(localState(stack))).toBe(true);
  });

  it("refuses a deployment whose stateBucket is already set", () => {
    // Act
    const result = migrate(newStateBucket(), [], {
      region: "eu-west-1",
      stateBucket: "acme-tfstate",
    });

    // Assert
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("stateBucket is already set to acme-tfstate");
    expect(result.lines.some((l) => l.startsWith("npx"))).toBe(false);
    expect(sdk?.commands()).toEqual(["STS.GetCallerIdentity"]); // only the credentials check
  });

  it("--dry-run prints the commands and runs none", () => {
    // Act
    const result = migrate(newStateBucket(), ["--dry-run"]);

    // Assert
    expect(result.status).toBe(0);
    expect(result.calls).toEqual([]);
    expect(sdk?.commands()).toEqual([]);
    for (const expected of [
      "would run: npx cdktf synth",
      "would run: terraform '-chdir=cdktf.out/stacks/<stack>' init -input=false",
      "would run: env 'THUMBNAILER_STATE_BUCKET=<bucket>' 'THUMBNAILER_STATE_REGION=<region>' npx cdktf synth",
      "would run: terraform '-chdir=cdktf.out/stacks/<stack>' init -migrate-state -force-copy -input=false",
    ]) {
      expect(result.stderr).toContain(expected);
    }
  });
});
