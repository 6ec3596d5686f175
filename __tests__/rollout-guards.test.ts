/**
 * What a local deploy refuses to roll out. The Lambda stack's build-and-rollout command, taken
 * from the synthesized JSON, runs with the real scripts/*.sh in a temp git repository (a copy of
 * the scripts and two committed image inputs, so the developer's own checkout never decides the
 * outcome) against the recording stand-ins: a fake ECR with immutable tags, docker and the
 * function's `aws lambda` calls.
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
import { PROJECT_ROOT, runWithStandIns, type ScriptRun } from "./support/fake-tools";
import { only, synthInfra } from "./support/infra";
import {
  BUILT,
  ECR_ARMS,
  ecrRegistry,
  MANIFEST,
  REPOSITORY_URL,
  rules,
} from "./support/script-rules";
import { sdkStandIn } from "./support/sdk-stand-in";

interface LocalExec {
  command: string;
  environment: Record<string, string>;
}

const digest = (c: string) => `sha256:${c.repeat(32)}`;
const RUNNING = digest("5e");
const OLD = digest("0d");

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
  // A checkout with the deploy scripts and two image inputs, all committed.
  repo = mkdtempSync(join(tmpdir(), "thumbnailer-checkout-"));
  cpSync(join(PROJECT_ROOT, "scripts"), join(repo, "scripts"), {
    recursive: true,
    filter: (source) => statSync(source).isDirectory() || source.endsWith(".sh"),
  });
  mkdirSync(join(repo, "handler"));
  writeFileSync(join(repo, "Dockerfile"), "FROM scratch\n");
  writeFileSync(join(repo, "handler", "index.ts"), "export const version = 1;\n");
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

/**
 * Runs the rollout in the temp checkout. The function runs `running` (undefined: it does not
 * exist yet; or a bash case arm answering `aws lambda get-function`); the repository holds
 * `images` (digest -> tags).
 */
function deploy(
  exec: LocalExec,
  images: Record<string, string[]>,
  running: string | undefined | { readonly arm: string },
  env: NodeJS.ProcessEnv = {},
): ScriptRun {
  const getFunction =
    running === undefined
      ? `    "aws lambda get-function "*) echo "An error occurred (ResourceNotFoundException) when calling the GetFunction operation: Function not found" >&2; return 254 ;;`
      : typeof running === "string"
        ? `    "aws lambda get-function "*) echo "${REPOSITORY_URL}@${running}" ;;`
        : running.arm;
  // The tag moves after a rollout (ops/image-tags.ts): no tag is on an image yet.
  const sdk = sdkStandIn({
    "ECR.DescribeImages": { error: "ImageNotFoundException" },
    "ECR.BatchGetImage": {
      output: { images: [{ imageManifest: MANIFEST, imageManifestMediaType: "application/json" }] },
    },
    "ECR.PutImage": { output: {} },
  });
  try {
    return runWithStandIns(["bash", "-c", exec.command], {
      project: repo,
      rules: rules(getFunction + ECR_ARMS) + ecrRegistry(images),
      env: {
        HOME: home,
        ...exec.environment,
        REPOSITORY_URL,
        IMAGE_INPUTS: "Dockerfile\nhandler/index.ts",
        ...sdk.env,
        ...env,
      },
    });
  } finally {
    sdk.cleanup();
  }
}

const updates = (run: ScriptRun) => run.lines.filter((l) => l.includes("update-function-code"));
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
    const run = deploy(exec, images, RUNNING);

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

describe("a deploy from a stale or dirty checkout (issue 10, defect 10)", () => {
  /** The synthesized rollout of the default configuration. */
  let exec: LocalExec;
  beforeAll(() => {
    exec = rollout({});
  });
  /** Commits a new version of the handler and returns its SHA. */
  function commitHandler(version: number): string {
    writeFileSync(join(repo, "handler", "index.ts"), `export const version = ${version};\n`);
    git("commit", "--quiet", "-am", `version ${version}`);
    return git("rev-parse", "HEAD");
  }
  const refusal = "THUMBNAILER_ALLOW_ROLLBACK=1";

  it("refuses, before building anything, when HEAD does not contain the commit CI deployed", () => {
    // Arrange: CI deployed B (its image is tagged with B's SHA); this checkout is still at A
    const a = git("rev-parse", "HEAD");
    const b = commitHandler(2);
    git("checkout", "--quiet", a);

    // Act
    const run = deploy(exec, { [RUNNING]: [b, "deployed"] }, RUNNING);

    // Assert: what runs, what HEAD is, and the way out
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      `the function runs ${REPOSITORY_URL}@${RUNNING}, built from commit ${b}, which HEAD (${a}) does not contain`,
    );
    expect(run.stderr).toContain(refusal);
    expect(builds(run)).toEqual([]);
    expect(updates(run)).toEqual([]);
  });

  it("rolls a checkout that contains the deployed commit forward, recording its commit on the image", () => {
    // Arrange: CI deployed A; this checkout has moved on to B
    const a = git("rev-parse", "HEAD");
    const b = commitHandler(2);

    // Act
    const run = deploy(exec, { [RUNNING]: [a, "deployed"] }, RUNNING);

    // Assert: rolled out, and the new image says which commit it holds
    expect(run.stderr).not.toContain("error:");
    expect(run.status).toBe(0);
    expect(updates(run)).toHaveLength(1);
    expect(run.files("registry")).toContain(`commit-amd64-${b} ${BUILT}\n`);
  });

  it("refuses a rollback past the commit a local deploy recorded on the running image", () => {
    // Arrange: a colleague deployed B from their checkout; this one is at A
    const a = git("rev-parse", "HEAD");
    const b = commitHandler(2);
    git("checkout", "--quiet", a);

    // Act
    const run = deploy(exec, { [RUNNING]: [`commit-amd64-${b}`, "deployed"] }, RUNNING);

    // Assert
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`built from commit ${b}, which HEAD (${a}) does not contain`);
    expect(updates(run)).toEqual([]);
  });

  it("asks for a git fetch when the deployed commit is not in this clone", () => {
    const unknown = "0123456789abcdef0123456789abcdef01234567";

    const run = deploy(exec, { [RUNNING]: [unknown, "deployed"] }, RUNNING);

    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`built from commit ${unknown}, which this clone does not have`);
    expect(run.stderr).toContain("git fetch");
    expect(builds(run)).toEqual([]);
  });

  it.each([
    [
      "a modified input",
      () => writeFileSync(join(repo, "handler", "index.ts"), "changed\n"),
      " M handler/index.ts",
    ],
    [
      "an untracked input",
      () => writeFileSync(join(repo, "handler", "new.ts"), "new\n"),
      "?? handler/new.ts",
    ],
    [
      "an input git ignores",
      () => {
        // The build copies it into the image all the same: no commit holds it.
        writeFileSync(join(repo, ".gitignore"), "handler/new.ts\n");
        git("add", ".gitignore");
        git("commit", "--quiet", "-m", "ignore");
        writeFileSync(join(repo, "handler", "new.ts"), "generated\n");
      },
      "!! handler/new.ts",
    ],
  ])(
    "refuses uncommitted image inputs (%s): the image could not be traced to a commit",
    (_case, change, listed) => {
      // Arrange: the function runs this very commit; the inputs differ from it
      const head = git("rev-parse", "HEAD");
      change();

      // Act
      const run = deploy(exec, { [RUNNING]: [head, "deployed"] }, RUNNING, {
        IMAGE_INPUTS: "Dockerfile\nhandler/index.ts\nhandler/new.ts",
      });

      // Assert
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain("uncommitted changes to the image inputs");
      expect(run.stderr).toContain(listed);
      expect(run.stderr).toContain(refusal);
      expect(builds(run)).toEqual([]);
      expect(updates(run)).toEqual([]);
    },
  );

  it("does not mind changes outside the image inputs (cdktf.json written by bootstrap.sh)", () => {
    const head = git("rev-parse", "HEAD");
    writeFileSync(join(repo, "cdktf.json"), "{}\n");
    writeFileSync(join(repo, "Dockerfile.notes"), "scratch\n");
    git("add", "cdktf.json");

    const run = deploy(exec, { [RUNNING]: [head, "deployed"] }, RUNNING);

    expect(run.stderr).not.toContain("error:");
    expect(run.status).toBe(0);
    expect(run.files("registry")).toContain(`commit-amd64-${head} ${BUILT}\n`);
  });

  it("with THUMBNAILER_ALLOW_ROLLBACK=1 rolls back once, saying what it replaces", () => {
    // Arrange: as in the stale case
    const a = git("rev-parse", "HEAD");
    const b = commitHandler(2);
    git("checkout", "--quiet", a);

    // Act
    const run = deploy(exec, { [RUNNING]: [b, "deployed"] }, RUNNING, {
      THUMBNAILER_ALLOW_ROLLBACK: "1",
    });

    // Assert: a warning instead of the refusal; the image records A
    expect(run.status).toBe(0);
    expect(run.stderr).toContain(`warning: the function runs ${REPOSITORY_URL}@${RUNNING}`);
    expect(updates(run)).toHaveLength(1);
    expect(run.files("registry")).toContain(`commit-amd64-${a} ${BUILT}\n`);
  });

  it("with THUMBNAILER_ALLOW_ROLLBACK=1 deploys uncommitted inputs, and records no commit for them", () => {
    writeFileSync(join(repo, "handler", "index.ts"), "changed\n");

    const run = deploy(exec, { [RUNNING]: ["deployed"] }, RUNNING, {
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
    expect(run.files("registry")).toContain(`commit-amd64-${head} ${BUILT}\n`);
  });

  it("does not check an image without a commit record (deployed before deploys recorded one), and says so", () => {
    const run = deploy(exec, { [RUNNING]: ["x86_64-0123456789abcdef", "deployed"] }, RUNNING);

    expect(run.status).toBe(0);
    expect(run.stderr).toContain("carries no commit tag");
    expect(updates(run)).toHaveLength(1);
  });

  it("refuses to roll out when the function changed while the image was built", () => {
    // Arrange: CI deploys NEWER between the check and the update
    const head = git("rev-parse", "HEAD");
    const NEWER = digest("ee");
    const answers = `
    "aws lambda get-function "*)
      if [ -f "$FAKE_DIR/looked" ]; then echo "${REPOSITORY_URL}@${NEWER}"; else touch "$FAKE_DIR/looked"; echo "${REPOSITORY_URL}@${RUNNING}"; fi ;;`;

    // Act
    const run = deploy(exec, { [RUNNING]: [head, "deployed"] }, { arm: answers });

    // Assert
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("changed while the image was built");
    expect(updates(run)).toEqual([]);
  });
});
