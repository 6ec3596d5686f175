/**
 * What a local deploy refuses to roll out. The Lambda stack's build-and-rollout command, taken
 * from the synthesized JSON, runs with the real scripts/*.sh in a temp git repository (a copy of
 * the scripts and two committed image inputs, so the developer's own checkout never decides the
 * outcome) against the recording stand-ins: a fake ECR with immutable tags, docker and the
 * function's `aws lambda` calls.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT, runWithStandIns, type ScriptRun } from "./support/fake-tools";
import { only, synthInfra } from "./support/infra";
import { ECR_ARMS, ecrRegistry, REPOSITORY_URL, rules } from "./support/script-rules";

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
 * exist yet); the repository holds `images` (digest -> tags).
 */
function deploy(
  exec: LocalExec,
  images: Record<string, string[]>,
  running: string | undefined,
  env: NodeJS.ProcessEnv = {},
): ScriptRun {
  const getFunction =
    running === undefined
      ? 'echo "An error occurred (ResourceNotFoundException) when calling the GetFunction operation: Function not found" >&2; return 254'
      : `echo "${REPOSITORY_URL}@${running}"`;
  return runWithStandIns(["bash", "-c", exec.command], {
    project: repo,
    rules:
      rules(`    "aws lambda get-function "*) ${getFunction} ;;${ECR_ARMS}`) + ecrRegistry(images),
    env: {
      HOME: home,
      ...exec.environment,
      REPOSITORY_URL,
      IMAGE_INPUTS: "Dockerfile\nhandler/index.ts",
      ...env,
    },
  });
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
