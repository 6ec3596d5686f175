/**
 * The image build-and-rollout command the Lambda stack's terraform_data runs at deploy time,
 * taken from the synthesized JSON and run by real bash, with the rollout program it names (and
 * scripts/lib/common.sh) copied into a temp folder. Docker and AWS are not available here, so the
 * scripts it calls are recording fakes beside it, and its Lambda calls (ops/function-code.ts) are
 * answered by the SDK stand-in.
 */
import { execFile } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DEPLOYED_TAG } from "../stacks/image-repository";
import {
  dataSources,
  only,
  PROJECT_ROOT,
  rolloutScript,
  type SynthedInfra,
  synthInfra,
} from "./support/infra";
import { type Answer, type SdkCall, sdkStandIn } from "./support/sdk-stand-in";

const run = promisify(execFile);

interface LocalExec {
  command: string;
  interpreter: string[];
  environment: Record<string, string>;
}

const DIGEST = `sha256:${"ab".repeat(32)}`;
const RUNNING = `sha256:${"cd".repeat(32)}`;
const REPOSITORY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/thumbs";
const HEAD = "4ead".repeat(10);

describe("the image a function is created from", () => {
  it("is the one the rollout tagged deployed, never merely the newest push (a failed CI build)", () => {
    // Arrange
    const infra = synthInfra({ keepImages: 2 });
    try {
      // Act
      const lookups = Object.values(dataSources(infra.stacks.lambda.json, "aws_ecr_image"));
      const fn = only(infra.stacks.lambda.json, "aws_lambda_function");
      const policy = only(infra.stacks.dependencies.json, "aws_ecr_lifecycle_policy");
      const [first] = (
        JSON.parse(String(policy.policy)) as {
          rules: { rulePriority: number; selection: { tagPatternList?: string[] } }[];
        }
      ).rules.sort((a, b) => a.rulePriority - b.rulePriority);

      // Assert: read after the rollout, which tags the image before the function exists
      expect(lookups).toHaveLength(1);
      const [lookup] = lookups;
      expect(lookup).toMatchObject({
        image_tag: DEPLOYED_TAG,
        depends_on: ["terraform_data.image-build"],
      });
      expect(lookup).not.toHaveProperty("most_recent");
      expect(fn.image_uri).toMatch(/@\$\{data\.aws_ecr_image\.[\w-]+\.image_digest\}$/);
      // ...and expiry never removes it
      expect(first?.selection.tagPatternList).toEqual([DEPLOYED_TAG]);
    } finally {
      infra.cleanup();
    }
  });
});

describe("image build and rollout command", () => {
  let infra: SynthedInfra;
  let exec: LocalExec;
  let root: string;

  beforeAll(() => {
    infra = synthInfra({ region: "eu-west-1", name: "thumbs", architecture: "arm64" });
    const build = only(infra.stacks.lambda.json, "terraform_data") as {
      provisioner: { "local-exec": LocalExec }[];
    };
    exec = build.provisioner[0]?.["local-exec"] as LocalExec;
  });
  afterAll(() => infra.cleanup());

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "thumbnailer-rollout-"));
    mkdirSync(join(root, "scripts", "lib"), { recursive: true });
    mkdirSync(join(root, "bin"));
    // The real rollout program, beside the fakes of the scripts it calls
    for (const script of [rolloutScript(exec.command), "scripts/lib/common.sh"]) {
      copyFileSync(join(PROJECT_ROOT, script), join(root, script));
    }
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /**
   * Fakes: check-rollout.sh prints HEAD; push-image.sh prints `pushOutput`; Lambda's GetFunction
   * answers per `getFunction` (ops/function-code.ts, through the SDK stand-in).
   * (rollout-guards.test.ts runs the real scripts.)
   */
  async function deploy(pushOutput: string, getFunction: "exists" | "missing" | "denied") {
    const log = join(root, "calls.log");
    writeFileSync(
      join(root, "scripts", "push-image.sh"),
      `echo "push-image.sh $*" >>"${log}"\necho "building..." >&2\ncat <<'OUT'\n${pushOutput}\nOUT\n`,
    );
    writeFileSync(
      join(root, "scripts", "check-rollout.sh"),
      // one line in the log: the image inputs' newlines become commas
      `echo "check-rollout.sh $(printf '%s' "$*" | tr '\\n' ,)" >>"${log}"\necho "${HEAD}"\n`,
    );
    writeFileSync(
      join(root, "scripts", "tag-deployed.sh"),
      `echo "tag-deployed.sh $*" >>"${log}"\n`,
    );
    // The compiled ops tools node_tool runs.
    symlinkSync(join(PROJECT_ROOT, "dist"), join(root, "dist"));
    symlinkSync(join(PROJECT_ROOT, "node_modules"), join(root, "node_modules"));
    const answers: Record<typeof getFunction, Answer> = {
      exists: {
        output: {
          Configuration: {
            Architectures: ["arm64"],
            RevisionId: "rev-1",
            LastUpdateStatus: "Successful",
          },
          Code: { ResolvedImageUri: `${REPOSITORY}@${RUNNING}` },
        },
      },
      missing: { error: "ResourceNotFoundException" },
      denied: { error: "AccessDeniedException", status: 403 },
    };
    const sdk = sdkStandIn({
      "Lambda.GetFunction": answers[getFunction],
      "Lambda.UpdateFunctionCode": { output: { LastUpdateStatus: "InProgress" } },
    });
    const [interpreter = "", ...flags] = exec.interpreter;
    const env = {
      PATH: `${join(root, "bin")}:${process.env.PATH}`,
      HOME: root, // no ~/.bashrc from the machine running the tests
      ...sdk.env,
      ...exec.environment,
      REPOSITORY_URL: REPOSITORY,
    };
    try {
      const result = await run(interpreter, [...flags, exec.command], { cwd: root, env }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
      const lambda: SdkCall[] = sdk.calls("function-code");
      return { ...result, calls, lambda, commands: sdk.commands("function-code") };
    } finally {
      sdk.cleanup();
    }
  }

  it("takes its settings from the environment the stack sets", () => {
    expect(exec.interpreter).toEqual(["bash", "-c"]);
    expect(exec.environment).toEqual({
      REPOSITORY_URL: expect.stringContaining("repository_url"),
      TAG: expect.stringMatching(/^arm64-[0-9a-f]{16}$/),
      INPUTS_HASH: infra.imageInputsHash,
      IMAGE_INPUTS: infra.imageInputs.join("\n"),
      PLATFORM: "linux/arm64",
      ARCHITECTURE: "arm64",
      REGION: "eu-west-1",
      FUNCTION_NAME: "thumbs",
    });
  });

  const updates = (lambda: SdkCall[]) => lambda.filter((c) => c.command === "UpdateFunctionCode");

  it("on the first deploy checks, pushes and tags the image and leaves the function to be created from it", async () => {
    const { code, calls, stdout, commands } = await deploy(DIGEST, "missing");

    expect(code).toBe(0);
    expect(calls).toEqual([
      // nothing runs yet: the check has no image to compare, only the checkout
      `check-rollout.sh --repository-url ${REPOSITORY} --region eu-west-1 --running  --image-inputs ${infra.imageInputs.join(",")}`,
      `push-image.sh --repository-url ${REPOSITORY} --tag ${exec.environment.TAG} --inputs-hash ${infra.imageInputsHash} --commit ${HEAD} --platform linux/arm64 --region eu-west-1`,
      `tag-deployed.sh --repository-url ${REPOSITORY} --deployed ${DIGEST} --region eu-west-1`,
    ]);
    // read before the check, and again before the rollout: still absent, so nothing is updated
    expect(commands).toEqual(["Lambda.GetFunction", "Lambda.GetFunction"]);
    expect(stdout).toContain(`thumbs does not exist yet: it will be created from ${DIGEST}`);
  });

  it("on a later deploy points the existing function at the pushed digest, waits, then tags both images", async () => {
    const { code, calls, lambda, commands } = await deploy(`some output\n${DIGEST}`, "exists");

    expect(code).toBe(0);
    expect(calls[0]).toContain(
      `check-rollout.sh --repository-url ${REPOSITORY} --region eu-west-1 --running ${REPOSITORY}@${RUNNING} `,
    );
    // one update, only if the function is still at the revision read, then the wait (GetFunction)
    expect(updates(lambda).map((c) => c.input)).toEqual([
      {
        FunctionName: "thumbs",
        ImageUri: `${REPOSITORY}@${DIGEST}`,
        Architectures: ["arm64"],
        RevisionId: "rev-1",
      },
    ]);
    expect(commands.slice(2)).toEqual(["Lambda.UpdateFunctionCode", "Lambda.GetFunction"]);
    expect(calls.slice(2)).toEqual([
      // the image it ran stays as `previous`, the new one becomes `deployed`: neither expires
      `tag-deployed.sh --repository-url ${REPOSITORY} --deployed ${DIGEST} --previous ${REPOSITORY}@${RUNNING} --region eu-west-1`,
    ]);
  });

  it("fails without touching the function when the push prints no digest", async () => {
    const { code, lambda, stderr } = await deploy("latest", "exists");

    expect(code).not.toBe(0);
    expect(stderr).toContain("scripts/push-image.sh printed no digest (last line: 'latest')");
    expect(updates(lambda)).toEqual([]);
  });

  it("refuses to start without a setting the stack sets, naming each missing one", async () => {
    const log = join(root, "calls.log");
    const aws = join(root, "bin", "aws");
    writeFileSync(aws, `#!/usr/bin/env bash\necho "aws $*" >>"${log}"\n`);
    chmodSync(aws, 0o755);
    const { TAG, FUNCTION_NAME, ...partial } = exec.environment;
    const env = { PATH: `${join(root, "bin")}:${process.env.PATH}`, HOME: root, ...partial };

    const result = await run("bash", ["-c", exec.command], { cwd: root, env }).catch(
      (error: { code: number; stderr: string }) => error,
    );

    expect(result).toMatchObject({ code: 1 });
    expect(result.stderr).toContain("error: not set: TAG FUNCTION_NAME");
    expect(existsSync(log)).toBe(false);
  });

  it("fails, and does not update, when the function cannot be read for another reason", async () => {
    const { code, calls, lambda, stderr } = await deploy(DIGEST, "denied");

    expect(code).not.toBe(0);
    expect(stderr).toContain("AccessDeniedException");
    expect(updates(lambda)).toEqual([]);
    expect(calls).toEqual([]); // neither checked nor built
  });
});
