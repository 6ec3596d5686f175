/**
 * The image build-and-rollout command the Lambda stack's terraform_data runs at deploy time,
 * taken from the synthesized JSON and run by real bash, with the rollout program it names (and
 * scripts/lib/common.sh) copied into a temp folder. Docker and AWS are not available here, so the
 * scripts it calls and the `aws` CLI are recording fakes beside it.
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
   * Fakes: check-rollout.sh prints HEAD; push-image.sh prints `pushOutput`; `aws lambda
   * get-function` answers per `getFunction`. (rollout-guards.test.ts runs the real scripts.)
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
    const answers = {
      exists: `echo "${REPOSITORY}@${RUNNING}"`,
      missing:
        'echo "An error occurred (ResourceNotFoundException) when calling the GetFunction operation: Function not found" >&2; exit 254',
      denied:
        'echo "An error occurred (AccessDeniedException) when calling the GetFunction operation" >&2; exit 254',
    };
    const aws = join(root, "bin", "aws");
    writeFileSync(
      aws,
      `#!/usr/bin/env bash\necho "aws $*" >>"${log}"\nif [ "$2" = get-function ]; then ${answers[getFunction]}; fi\n`,
    );
    chmodSync(aws, 0o755);
    const [interpreter = "", ...flags] = exec.interpreter;
    const env = {
      PATH: `${join(root, "bin")}:${process.env.PATH}`,
      HOME: root, // no ~/.bashrc from the machine running the tests
      ...exec.environment,
      REPOSITORY_URL: REPOSITORY,
    };
    const result = await run(interpreter, [...flags, exec.command], { cwd: root, env }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    const calls = readFileSync(log, "utf8").trim().split("\n");
    return { ...result, calls };
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

  const getFunction =
    "aws lambda get-function --function-name thumbs --region eu-west-1 --query Code.ResolvedImageUri --output text";

  it("on the first deploy checks, pushes and tags the image and leaves the function to be created from it", async () => {
    const { code, calls, stdout } = await deploy(DIGEST, "missing");

    expect(code).toBe(0);
    expect(calls).toEqual([
      getFunction,
      // nothing runs yet: the check has no image to compare, only the checkout
      `check-rollout.sh --repository-url ${REPOSITORY} --region eu-west-1 --running  --image-inputs ${infra.imageInputs.join(",")}`,
      `push-image.sh --repository-url ${REPOSITORY} --tag ${exec.environment.TAG} --inputs-hash ${infra.imageInputsHash} --commit ${HEAD} --platform linux/arm64 --region eu-west-1`,
      getFunction,
      `tag-deployed.sh --repository-url ${REPOSITORY} --deployed ${DIGEST} --region eu-west-1`,
    ]);
    expect(stdout).toContain(`thumbs does not exist yet: it will be created from ${DIGEST}`);
  });

  it("on a later deploy points the existing function at the pushed digest, waits, then tags both images", async () => {
    const { code, calls } = await deploy(`some output\n${DIGEST}`, "exists");

    expect(code).toBe(0);
    expect(calls[1]).toContain(
      `check-rollout.sh --repository-url ${REPOSITORY} --region eu-west-1 --running ${REPOSITORY}@${RUNNING} `,
    );
    expect(calls.slice(4)).toEqual([
      `aws lambda update-function-code --function-name thumbs --region eu-west-1 --image-uri ${REPOSITORY}@${DIGEST} --architectures arm64 --output text --query LastUpdateStatus`,
      "aws lambda wait function-updated --function-name thumbs --region eu-west-1",
      // the image it ran stays as `previous`, the new one becomes `deployed`: neither expires
      `tag-deployed.sh --repository-url ${REPOSITORY} --deployed ${DIGEST} --previous ${REPOSITORY}@${RUNNING} --region eu-west-1`,
    ]);
  });

  it("fails without touching the function when the push prints no digest", async () => {
    const { code, calls, stderr } = await deploy("latest", "exists");

    expect(code).not.toBe(0);
    expect(stderr).toContain("scripts/push-image.sh printed no digest (last line: 'latest')");
    expect(calls.some((call) => call.includes("update-function-code"))).toBe(false);
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
    const { code, calls, stderr } = await deploy(DIGEST, "denied");

    expect(code).not.toBe(0);
    expect(stderr).toContain("AccessDeniedException");
    expect(calls.some((call) => call.includes("update-function-code"))).toBe(false);
  });
});
