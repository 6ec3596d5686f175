/**
 * What a deploy refuses to roll out (ops/rollout-guard.ts). The guard's decisions run in-process
 * against real git repositories in temp folders and an ECR client mocked with
 * aws-sdk-client-mock. Then the Lambda stack's build-and-rollout command, taken from the
 * synthesized JSON, runs with the real scripts/*.sh in such a repository (a copy of the scripts,
 * links to dist/ and node_modules/, and two committed image inputs, so the developer's own
 * checkout never decides the outcome): the guard's ECR calls are answered by the SDK stand-in,
 * the rest by the recording stand-ins (a fake ECR with immutable tags, docker, `aws lambda`).
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DescribeImagesCommand,
  type DescribeImagesCommandInput,
  ECRClient,
  ImageNotFoundException,
} from "@aws-sdk/client-ecr";
import { mockClient } from "aws-sdk-client-mock";
import {
  allowRollback,
  checkCiDeploy,
  checkLocalDeploy,
  type LocalDeploy,
  parseRepositoryUrl,
  type Report,
  RolloutRefusedError,
} from "../ops/rollout-guard";
import { PROJECT_ROOT, runWithStandIns, type ScriptRun } from "./support/fake-tools";
import { only, synthInfra } from "./support/infra";
import {
  BUILT,
  ECR_ARMS,
  ecrAnswers,
  ecrRegistry,
  REPOSITORY_URL,
  rules,
} from "./support/script-rules";
import { type Answers, ECR_LOGIN, type SdkCall, sdkStandIn } from "./support/sdk-stand-in";

interface LocalExec {
  command: string;
  environment: Record<string, string>;
}

const digest = (c: string) => `sha256:${c.repeat(32)}`;
const RUNNING = digest("5e");
const OLD = digest("0d");
/** The image the function runs, in this deployment's repository. */
const IMAGE = `${REPOSITORY_URL}@${RUNNING}`;
/** The same digest in another repository: another deployment's function. */
const FOREIGN = `${REPOSITORY_URL.replace(/\/thumbnailer$/, "/someone-else")}@${RUNNING}`;
const OVERRIDE = "THUMBNAILER_ALLOW_ROLLBACK=1";
const UNKNOWN = "0123456789abcdef0123456789abcdef01234567";

/** The rollout command and its environment, as the stack synthesizes them for `context`. */
function rollout(context: Record<string, unknown>): LocalExec {
  const infra = synthInfra({ region: "eu-west-1", ...context });
  try {
    const build = only(infra.stacks.lambda.json, "terraform_data") as {
      provisioner: { "local-exec": LocalExec }[];
    };
    return build.provisioner[0]?.["local-exec"] as LocalExec;
  } finally {
    infra.cleanup();
  }
}

let repo: string;
let home: string;
const git = (...args: string[]) =>
  execFileSync("git", ["-C", repo, ...args], { encoding: "utf8" }).trim();

beforeEach(() => {
  // A checkout with two image inputs, committed. Not under handler/: the scripts' node_tool
  // would take a handler/*.ts newer than the linked dist/ for a stale build.
  repo = mkdtempSync(join(tmpdir(), "thumbnailer-checkout-"));
  mkdirSync(join(repo, "src"));
  writeFileSync(join(repo, "Dockerfile"), "FROM scratch\n");
  writeFileSync(join(repo, "src", "index.ts"), "export const version = 1;\n");
  git("init", "--quiet", "--initial-branch=main");
  git("config", "user.email", "dev@example.com");
  git("config", "user.name", "Dev");
  git("add", ".");
  git("commit", "--quiet", "-m", "first");
  // The ops tools the scripts run (scripts/lib/common.sh node_tool), compiled, as a build newer
  // than any source the test writes, so node_tool never rebuilds in this checkout.
  mkdirSync(join(repo, "dist"));
  symlinkSync(join(PROJECT_ROOT, "dist", "ops"), join(repo, "dist", "ops"));
  writeFileSync(join(repo, "dist", ".tsbuildinfo"), "");
  const later = new Date(Date.now() + 86_400_000);
  utimesSync(join(repo, "dist", ".tsbuildinfo"), later, later);
  // `bash -c` on a socket stdin (Node's pipes) reads ~/.bashrc: an empty HOME keeps the
  // machine's out.
  home = mkdtempSync(join(tmpdir(), "thumbnailer-home-"));
});
afterEach(() => {
  rmSync(repo, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

/** Commits a new version of the handler and returns its SHA. */
function commitHandler(version: number): string {
  writeFileSync(join(repo, "src", "index.ts"), `export const version = ${version};\n`);
  git("commit", "--quiet", "-am", `version ${version}`);
  return git("rev-parse", "HEAD");
}

const ecr = mockClient(ECRClient);

/** ECR holds `images` (digest -> tags); DescribeImages of any other digest: ImageNotFoundException. */
function ecrHolds(images: Record<string, string[]>): void {
  ecr.reset();
  ecr.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
    const wanted = input.imageIds?.[0]?.imageDigest ?? "";
    const tags = images[wanted];
    if (tags === undefined) {
      throw new ImageNotFoundException({ message: `imageDigest=${wanted}`, $metadata: {} });
    }
    return { imageDetails: [{ imageDigest: wanted, imageTags: tags }] };
  });
}
const describeImages = () =>
  ecr.commandCalls(DescribeImagesCommand).map((call) => call.args[0].input);

interface Checked {
  /** The commit the guard printed, or undefined when it refused. */
  readonly commit?: string;
  readonly refused?: string;
  /** Its progress, one line per step, info or warning. */
  readonly output: string;
}

/** The local deploy's guard in `repo`, the function running `running` ("": none yet). */
async function checkLocal(
  images: Record<string, string[]>,
  running: string,
  options: Partial<LocalDeploy> = {},
): Promise<Checked> {
  ecrHolds(images);
  const lines: string[] = [];
  const report: Report = {
    step: (title) => lines.push(`==> ${title}`),
    info: (line) => lines.push(line),
    warn: (problem) => lines.push(`warning: ${problem}`),
  };
  const deploy: LocalDeploy = {
    root: repo,
    repository: parseRepositoryUrl(REPOSITORY_URL),
    imageInputs: ["Dockerfile", "src/index.ts"],
    running,
    allowRollback: false,
    dryRun: false,
    ...options,
  };
  try {
    const commit = await checkLocalDeploy(new ECRClient({ region: "eu-west-1" }), deploy, report);
    return { commit, output: lines.join("\n") };
  } catch (error) {
    if (!(error instanceof RolloutRefusedError)) throw error;
    return { refused: error.message, output: lines.join("\n") };
  }
}

describe("the local deploy's guard (ops/rollout-guard.ts checkLocalDeploy)", () => {
  it("refuses when HEAD does not contain the commit CI deployed, reading the image's tags from ECR", async () => {
    // Arrange: CI deployed B (its image is tagged with B's SHA); this checkout is still at A
    const a = git("rev-parse", "HEAD");
    const b = commitHandler(2);
    git("checkout", "--quiet", a);

    // Act
    const checked = await checkLocal({ [RUNNING]: [b, "deployed"] }, IMAGE);

    // Assert: what runs, what HEAD is, and the way out
    expect(checked.refused).toContain(
      `the function runs ${IMAGE}, built from commit ${b}, which HEAD (${a}) does not contain`,
    );
    expect(checked.refused).toContain(OVERRIDE);
    expect(describeImages()).toEqual([
      {
        registryId: "123456789012",
        repositoryName: "thumbnailer",
        imageIds: [{ imageDigest: RUNNING }],
      },
    ]);
  });

  it("passes a checkout that contains the deployed commit, and gives HEAD for the image to record", async () => {
    const a = git("rev-parse", "HEAD");
    const b = commitHandler(2);

    const checked = await checkLocal({ [RUNNING]: [a, "deployed"] }, IMAGE);

    expect(checked.commit).toBe(b);
    expect(checked.output).toContain(`yes: HEAD ${b} contains ${a}`);
  });

  it("refuses a rollback past the commit a local deploy recorded on the running image", async () => {
    // Arrange: a colleague deployed B from their checkout; this one is at A
    const a = git("rev-parse", "HEAD");
    const b = commitHandler(2);
    git("checkout", "--quiet", a);

    const checked = await checkLocal({ [RUNNING]: [`commit-amd64-${b}`, "deployed"] }, IMAGE);

    expect(checked.refused).toContain(`built from commit ${b}, which HEAD (${a}) does not contain`);
  });

  it("asks for a git fetch when the deployed commit is not in this clone", async () => {
    const checked = await checkLocal({ [RUNNING]: [UNKNOWN, "deployed"] }, IMAGE);

    expect(checked.refused).toContain(
      `built from commit ${UNKNOWN}, which this clone does not have`,
    );
    expect(checked.refused).toContain("git fetch");
  });

  it.each([
    [
      "a modified input",
      () => writeFileSync(join(repo, "src", "index.ts"), "changed\n"),
      " M src/index.ts",
    ],
    [
      "an untracked input",
      () => writeFileSync(join(repo, "src", "new.ts"), "new\n"),
      "?? src/new.ts",
    ],
    [
      "an input git ignores",
      () => {
        // The build copies it into the image all the same: no commit holds it.
        writeFileSync(join(repo, ".gitignore"), "src/new.ts\n");
        git("add", ".gitignore");
        git("commit", "--quiet", "-m", "ignore");
        writeFileSync(join(repo, "src", "new.ts"), "generated\n");
      },
      "!! src/new.ts",
    ],
  ])(
    "refuses uncommitted image inputs (%s): the image could not be traced to a commit",
    async (_case, change, listed) => {
      // Arrange: the function runs this very commit; the inputs differ from it
      const head = git("rev-parse", "HEAD");
      change();

      // Act
      const checked = await checkLocal({ [RUNNING]: [head, "deployed"] }, IMAGE, {
        imageInputs: ["Dockerfile", "src/index.ts", "src/new.ts"],
      });

      // Assert
      expect(checked.refused).toContain("uncommitted changes to the image inputs");
      expect(checked.refused).toContain(listed);
      expect(checked.refused).toContain(OVERRIDE);
    },
  );

  it("does not mind changes outside the image inputs (cdktf.json written by bootstrap.sh)", async () => {
    const head = git("rev-parse", "HEAD");
    writeFileSync(join(repo, "cdktf.json"), "{}\n");
    writeFileSync(join(repo, "Dockerfile.notes"), "scratch\n");
    git("add", "cdktf.json");

    const checked = await checkLocal({ [RUNNING]: [head, "deployed"] }, IMAGE);

    expect(checked.commit).toBe(head);
  });

  it("with THUMBNAILER_ALLOW_ROLLBACK=1 rolls back once, saying what it replaces", async () => {
    const a = git("rev-parse", "HEAD");
    const b = commitHandler(2);
    git("checkout", "--quiet", a);

    const checked = await checkLocal({ [RUNNING]: [b, "deployed"] }, IMAGE, {
      allowRollback: true,
    });

    expect(checked.commit).toBe(a);
    expect(checked.output).toContain(`warning: the function runs ${IMAGE}, built from commit ${b}`);
    expect(checked.output).toContain(`Going ahead: ${OVERRIDE}`);
  });

  it("with THUMBNAILER_ALLOW_ROLLBACK=1 deploys uncommitted inputs, and gives no commit for them", async () => {
    writeFileSync(join(repo, "src", "index.ts"), "changed\n");

    const checked = await checkLocal({ [RUNNING]: ["deployed"] }, IMAGE, { allowRollback: true });

    expect(checked.commit).toBe("");
    expect(checked.output).toContain("warning: uncommitted changes to the image inputs");
  });

  it("accepts THUMBNAILER_ALLOW_ROLLBACK unset, 0 or 1, and refuses anything else naming the accepted value", () => {
    expect([undefined, "", "0", "1"].map(allowRollback)).toEqual([false, false, false, true]);
    expect(() => allowRollback("yes")).toThrow("THUMBNAILER_ALLOW_ROLLBACK='yes' is not accepted");
  });

  it("on the first deploy (no function yet) has no image to compare, and gives HEAD", async () => {
    const head = git("rev-parse", "HEAD");

    const checked = await checkLocal({}, "");

    expect(checked.commit).toBe(head);
    expect(checked.output).toContain("the function does not exist yet: nothing to compare");
    expect(describeImages()).toEqual([]);
  });

  it("does not check an image without a commit record (deployed before deploys recorded one), and says so", async () => {
    const checked = await checkLocal({ [RUNNING]: ["x86_64-0123456789abcdef", "deployed"] }, IMAGE);

    expect(checked.commit).toBe(git("rev-parse", "HEAD"));
    expect(checked.output).toContain("carries no commit tag");
  });

  it("refuses when the running image is gone from ECR: its commit cannot be told", async () => {
    const checked = await checkLocal({ [OLD]: ["v1"] }, IMAGE);

    expect(checked.refused).toContain(
      `the function runs ${IMAGE}, which its repository no longer holds`,
    );
    expect(checked.refused).toContain(OVERRIDE);
  });

  it("with THUMBNAILER_ALLOW_ROLLBACK=1, a running image gone from ECR is a warning (review N23)", async () => {
    const checked = await checkLocal({}, IMAGE, { allowRollback: true });

    expect(checked.commit).toBe(git("rev-parse", "HEAD"));
    expect(checked.output).toContain(
      `warning: the function runs ${IMAGE}, which its repository no longer holds`,
    );
  });

  it.each([false, true])(
    "refuses a function running another repository's image, whatever the override (%s) says (issue 19, item 6)",
    async (override) => {
      const checked = await checkLocal({ [RUNNING]: [git("rev-parse", "HEAD")] }, FOREIGN, {
        allowRollback: override,
      });

      expect(checked.refused).toContain(
        `the function runs ${FOREIGN}, not an image of ${REPOSITORY_URL}`,
      );
      expect(checked.refused).toContain("there is no override");
      expect(checked.refused).not.toContain(OVERRIDE);
      expect(describeImages()).toEqual([]);
    },
  );

  it("in a dry run reads nothing from ECR and gives no commit", async () => {
    const checked = await checkLocal({ [RUNNING]: [git("rev-parse", "HEAD")] }, IMAGE, {
      dryRun: true,
    });

    expect(checked.commit).toBe("");
    expect(checked.output).toContain(`would read the tags of ${IMAGE}`);
    expect(describeImages()).toEqual([]);
  });
});

describe("a local deploy of commits CI has not tested (review N13)", () => {
  let origin: string;
  beforeEach(() => {
    origin = mkdtempSync(join(tmpdir(), "thumbnailer-origin-"));
    execFileSync("git", ["init", "--quiet", "--bare", origin]);
    git("remote", "add", "origin", origin);
    git("push", "--quiet", "-u", "origin", "main");
  });
  afterEach(() => rmSync(origin, { recursive: true, force: true }));

  it("warns when HEAD is not on origin/main, and goes ahead", async () => {
    const b = commitHandler(2);

    const checked = await checkLocal({}, "");

    expect(checked.commit).toBe(b);
    expect(checked.output).toContain(`warning: HEAD ${b} is not on origin/main`);
    expect(checked.output).toContain("commits CI has not tested");
  });

  it("says nothing once HEAD is pushed", async () => {
    const b = commitHandler(2);
    git("push", "--quiet", "origin", "main");

    const checked = await checkLocal({}, "");

    expect(checked.output).not.toContain("warning:");
    expect(checked.output).toContain(`yes: HEAD ${b} is on a branch CI tests`);
  });

  it("counts HEAD's upstream branch as tested too (CI runs on every pull request)", async () => {
    git("checkout", "--quiet", "-b", "feature");
    commitHandler(2);
    git("push", "--quiet", "-u", "origin", "feature");

    const checked = await checkLocal({}, "");

    expect(checked.output).not.toContain("warning:");
  });
});

describe("the deploy workflow's guard (ops/rollout-guard.ts checkCiDeploy, issue 19 item 4)", () => {
  const check = (images: Record<string, string[]>, running: string, commit: string) => {
    ecrHolds(images);
    return checkCiDeploy(
      new ECRClient({ region: "eu-west-1" }),
      repo,
      parseRepositoryUrl(REPOSITORY_URL),
      running,
      commit,
    );
  };

  it("says 'older' when re-running an old CI run: the running image's commit is not an ancestor", async () => {
    const a = git("rev-parse", "HEAD");
    const b = commitHandler(2);

    const result = await check({ [RUNNING]: [b, "deployed"] }, IMAGE, a);

    expect(result.verdict).toBe("older");
    expect(result.why).toContain(`built from commit ${b}, which ${a} does not contain`);
  });

  it.each([
    ["a newer commit", 2],
    ["the same commit again", 1],
  ])("deploys %s", async (_case, version) => {
    const a = git("rev-parse", "HEAD");
    const target = version === 1 ? a : commitHandler(version);

    const result = await check({ [RUNNING]: [a, "deployed"] }, IMAGE, target);

    expect(result.verdict).toBe("deploy");
  });

  it("says 'older' for a running commit the repository does not have (a local deploy of unpushed commits)", async () => {
    const result = await check(
      { [RUNNING]: [`commit-arm64-${UNKNOWN}`] },
      IMAGE,
      git("rev-parse", "HEAD"),
    );

    expect(result.verdict).toBe("older");
    expect(result.why).toContain(
      `built from commit ${UNKNOWN}, which this repository does not have`,
    );
  });

  it("refuses a function running another repository's image", async () => {
    const result = await check({ [RUNNING]: [] }, FOREIGN, git("rev-parse", "HEAD"));

    expect(result.verdict).toBe("refuse");
    expect(result.why).toContain(`not an image of ${REPOSITORY_URL}`);
  });

  it.each([
    ["untagged", { [RUNNING]: ["deployed"] }, "carries no commit tag"],
    ["gone from ECR", {}, "the repository no longer holds"],
  ])("deploys, with a warning, when the running image is %s", async (_case, images, why) => {
    const result = await check(images, IMAGE, git("rev-parse", "HEAD"));

    expect(result.verdict).toBe("unchecked");
    expect(result.why).toContain(why);
  });
});

/**
 * Runs the rollout command in the temp checkout (with a copy of the scripts and links to dist/
 * and node_modules/). The function runs `running` (undefined: it does not exist yet; a string:
 * that image; { first, afterBuild }: first that image, then, once docker buildx has run, the
 * other, as when CI deploys during the build); the repository holds
 * `images` (digest -> tags), for the guard's SDK calls and the scripts' CLI calls alike.
 */
function deploy(
  exec: LocalExec,
  images: Record<string, string[]>,
  running: string | undefined | { readonly first: string; readonly afterBuild: string },
  env: NodeJS.ProcessEnv = {},
): ScriptRun & { readonly sdk: string[]; readonly lambda: SdkCall[] } {
  // sdk: the guard's SDK calls (ops/rollout-guard.ts); lambda: the rollout's (ops/function-code.ts)
  cpSync(join(PROJECT_ROOT, "scripts"), join(repo, "scripts"), {
    recursive: true,
    filter: (source) => statSync(source).isDirectory() || source.endsWith(".sh"),
  });
  // dist/ (the compiled ops tools) is linked by beforeEach, newer than any source here.
  symlinkSync(join(PROJECT_ROOT, "node_modules"), join(repo, "node_modules"));
  const fn = (image: string) => ({
    output: {
      Configuration: {
        Architectures: ["x86_64"],
        RevisionId: "rev-1",
        LastUpdateStatus: "Successful",
      },
      Code: { ResolvedImageUri: image },
    },
  });
  const getFunction =
    running === undefined
      ? { error: "ResourceNotFoundException" }
      : fn(typeof running === "string" ? running : running.first);
  // The build rewrites the stand-in's answer: every later GetFunction sees the other image.
  const duringBuild =
    typeof running === "object"
      ? `
    "docker buildx build"*) sed -i "s|${running.first}|${running.afterBuild}|" "$SDK_STAND_IN"; shift 2; fake_buildx "$@" ;;`
      : "";
  const answers: Answers = {
    // The guard's, push-image's and the tag moves' ECR (ops/rollout-guard.ts, ops/image-tags.ts).
    ...ecrAnswers(images),
    ...ECR_LOGIN, // push-image.sh logs docker in (ops/aws-account.ts)
    "Lambda.GetFunction": getFunction,
    "Lambda.UpdateFunctionCode": { output: { LastUpdateStatus: "InProgress" } },
  };
  const sdk = sdkStandIn(answers);
  try {
    const run = runWithStandIns(["bash", "-c", exec.command], {
      project: repo,
      rules: rules(duringBuild + ECR_ARMS) + ecrRegistry(images),
      env: {
        HOME: home,
        ...sdk.env,
        ...exec.environment,
        REPOSITORY_URL,
        IMAGE_INPUTS: "Dockerfile\nsrc/index.ts",
        ...env,
      },
    });
    return { ...run, sdk: sdk.commands("rollout-guard"), lambda: sdk.calls("function-code") };
  } finally {
    sdk.cleanup();
  }
}

const updates = (run: { lambda: SdkCall[] }) =>
  run.lambda.filter((c) => c.command === "UpdateFunctionCode");
const builds = (run: ScriptRun) => run.lines.filter((l) => l.startsWith("docker buildx build"));

describe("a deploy with a fixed imageTag (issue 10, defect 6)", () => {
  it("fails before touching the function when the tag already holds an image of other inputs", () => {
    // Arrange: imageTag v1 was pushed from other code; the function runs another image
    const exec = rollout({ imageTag: "v1" });
    const images = {
      [RUNNING]: ["deployed"],
      [OLD]: ["v1", `inputs-amd64-${"fe".repeat(32)}`],
    };

    // Act
    const run = deploy(exec, images, IMAGE);

    // Assert: no stale image rolled out, nothing built, a message saying what to do
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      `${REPOSITORY_URL}:v1 already exists and was built from other image inputs`,
    );
    expect(run.stderr).toContain("set a new imageTag");
    expect(updates(run)).toEqual([]);
    expect(builds(run)).toEqual([]);
  });
});

describe("the rollout command runs the guard before it builds (scripts/check-rollout.sh)", () => {
  /** The synthesized rollout of the default configuration. */
  let exec: LocalExec;
  beforeAll(() => {
    exec = rollout({});
  });

  it("refuses, before building anything, when HEAD does not contain the commit CI deployed", () => {
    // Arrange: CI deployed B (its image is tagged with B's SHA); this checkout is still at A
    const a = git("rev-parse", "HEAD");
    const b = commitHandler(2);
    git("checkout", "--quiet", a);

    // Act
    const run = deploy(exec, { [RUNNING]: [b, "deployed"] }, IMAGE);

    // Assert: the guard read the image's tags through the SDK, and refused with the way out
    expect(run.status).not.toBe(0);
    expect(run.sdk).toEqual(["ECR.DescribeImages"]);
    expect(run.stderr).toContain(`error: the function runs ${IMAGE}, built from commit ${b}`);
    expect(run.stderr).toContain(OVERRIDE);
    expect(builds(run)).toEqual([]);
    expect(updates(run)).toEqual([]);
  });

  it("rolls a checkout that contains the deployed commit forward, recording its commit on the image", () => {
    // Arrange: CI deployed A; this checkout has moved on to B
    const a = git("rev-parse", "HEAD");
    const b = commitHandler(2);

    // Act
    const run = deploy(exec, { [RUNNING]: [a, "deployed"] }, IMAGE);

    // Assert: rolled out, and the new image says which commit it holds
    expect(run.stderr).not.toContain("error:");
    expect(run.status).toBe(0);
    expect(updates(run).map((c) => c.input)).toEqual([
      {
        FunctionName: expect.any(String),
        ImageUri: `${REPOSITORY_URL}@${BUILT}`,
        Architectures: ["x86_64"],
        RevisionId: "rev-1",
      },
    ]);
    expect(run.files("registry")).toContain(`commit-amd64-${b} ${BUILT}\n`);
  });

  it("never builds for, nor updates, a function running another repository's image, even with the override (issue 19, item 6)", () => {
    const run = deploy(exec, {}, FOREIGN, { THUMBNAILER_ALLOW_ROLLBACK: "1" });

    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      `error: the function runs ${FOREIGN}, not an image of ${REPOSITORY_URL}`,
    );
    expect(builds(run)).toEqual([]);
    expect(updates(run)).toEqual([]);
    expect(run.sdk).toEqual([]);
  });

  it("with THUMBNAILER_ALLOW_ROLLBACK=1 rolls out over a running image gone from ECR, with a warning (review N23)", () => {
    const run = deploy(exec, {}, IMAGE, { THUMBNAILER_ALLOW_ROLLBACK: "1" });

    expect(run.stderr).toContain(
      `warning: the function runs ${IMAGE}, which its repository no longer holds`,
    );
    expect(run.status).toBe(0);
    expect(updates(run)).toHaveLength(1);
  });

  it("with THUMBNAILER_ALLOW_ROLLBACK=1 deploys uncommitted inputs, and records no commit for them", () => {
    writeFileSync(join(repo, "src", "index.ts"), "changed\n");

    const run = deploy(exec, { [RUNNING]: ["deployed"] }, IMAGE, {
      THUMBNAILER_ALLOW_ROLLBACK: "1",
    });

    expect(run.status).toBe(0);
    expect(run.stderr).toContain("warning: uncommitted changes to the image inputs");
    expect(run.files("registry")).not.toContain("commit-");
  });

  it("refuses a THUMBNAILER_ALLOW_ROLLBACK other than 1, naming the accepted value", () => {
    const run = deploy(exec, {}, undefined, { THUMBNAILER_ALLOW_ROLLBACK: "yes" });

    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("THUMBNAILER_ALLOW_ROLLBACK='yes' is not accepted");
    expect(builds(run)).toEqual([]);
  });

  it("on the first deploy (no function yet) has no commit to compare, and records HEAD's", () => {
    const head = git("rev-parse", "HEAD");

    const run = deploy(exec, {}, undefined);

    expect(run.status).toBe(0);
    expect(run.stdout).toContain("does not exist yet");
    // No guard lookup: nothing runs to compare with
    expect(run.sdk).toEqual([]);
    expect(run.files("registry")).toContain(`commit-amd64-${head} ${BUILT}\n`);
  });

  it("refuses to roll out when the function changed while the image was built", () => {
    // Arrange: CI deploys NEWER between the check and the update
    const head = git("rev-parse", "HEAD");
    const NEWER = digest("ee");

    // Act
    const run = deploy(
      exec,
      { [RUNNING]: [head, "deployed"] },
      { first: IMAGE, afterBuild: `${REPOSITORY_URL}@${NEWER}` },
    );

    // Assert
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("changed while the image was built");
    expect(builds(run)).toHaveLength(1);
    expect(updates(run)).toEqual([]);
  });
});
