/**
 * What a rollout refuses, decided from git and the image the function runs: its ECR tags name
 * the commit it was built from (a 40-hex tag, as the deploy workflow pushes, or
 * commit-<arch>-SHA, as local deploys record). One comparison serves both deploys:
 *
 *   node dist/ops/rollout-guard.js local --repository-url URL --image-inputs PATHS
 *                                        [--running IMAGE_URI] [--region R] [--dry-run]
 *       a local deploy (scripts/check-rollout.sh, run by `cdktf deploy` before it builds):
 *       refuses uncommitted image inputs, a HEAD that does not contain the running image's
 *       commit, and a function running an image of another repository; warns when HEAD is not on
 *       origin/main or its upstream (CI never tested it). Prints HEAD's commit when the inputs are
 *       committed (push-image.sh records it on the image). THUMBNAILER_ALLOW_ROLLBACK=1 turns each
 *       refusal but the foreign image into a warning.
 *   node dist/ops/rollout-guard.js ci --repository-url URL --running IMAGE_URI --commit SHA [--region R]
 *       the deploy workflow (.github/workflows/deploy.yml): prints "VERDICT<TAB>why", VERDICT one
 *       of deploy, unchecked (deploy, with a warning), older (the running image's commit is not
 *       an ancestor of SHA: a re-run of an old CI run; deploy nothing), refuse.
 *
 * git runs in the current directory (the project root). Exit status 1 with "error: ..." on
 * stderr when the deploy is refused or AWS cannot be read.
 */
import { execFile } from "node:child_process";
import { parseArgs, promisify } from "node:util";
import { DescribeImagesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { clientConfig, describeError, unlessAbsent } from "./aws";
import { commitsInTags } from "./tag-names";

const execFileAsync = promisify(execFile);

/** The deploy must not go ahead, for the reason given. */
export class RolloutRefusedError extends Error {
  override readonly name = "RolloutRefusedError";
}

/** An ECR repository URL's parts: ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/NAME. */
export interface Repository {
  readonly url: string;
  readonly account: string;
  readonly region: string;
  readonly name: string;
}

export function parseRepositoryUrl(url: string): Repository {
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(.+)$/.exec(url);
  if (!m) {
    throw new RolloutRefusedError(
      `--repository-url '${url}' is not an ECR repository URL (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME)`,
    );
  }
  return { url, account: m[1] as string, region: m[2] as string, name: m[3] as string };
}

// --- git, run as a tool in `root` ----------------------------------------------------------------

/** git's stdout, or undefined when it exits 1 (a "no"); any other failure throws. */
async function git(root: string, args: string[], anyFailure = false): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync("git", ["-C", root, ...args], { encoding: "utf8" });
    return stdout.trimEnd();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 1 || (anyFailure && typeof code === "number")) return undefined;
    throw error;
  }
}

const head = (root: string) =>
  git(root, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], true);
const hasCommit = async (root: string, sha: string) =>
  (await git(root, ["cat-file", "-e", `${sha}^{commit}`], true)) !== undefined;
const isAncestor = async (root: string, older: string, newer: string) =>
  (await git(root, ["merge-base", "--is-ancestor", older, newer])) !== undefined;

/** Image inputs that differ from HEAD: modified, staged, untracked or ignored (git status lines). */
export async function uncommittedInputs(root: string, inputs: readonly string[]): Promise<string> {
  return (await git(root, ["status", "--porcelain", "--ignored", "--", ...inputs])) ?? "";
}

/** The branches CI tests and deploys from that exist here: HEAD's upstream, origin/main. */
async function testedBranches(root: string): Promise<string[]> {
  const upstream = await git(
    root,
    ["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"],
    true,
  );
  const names = [...new Set(["origin/main", ...(upstream ? [upstream] : [])])];
  const found: string[] = [];
  for (const name of names) {
    if (await git(root, ["rev-parse", "--verify", "--quiet", `${name}^{commit}`], true)) {
      found.push(name);
    }
  }
  return found;
}

/** A warning when `commit` is on no branch CI tests (as of the last git fetch), else undefined. */
export async function untestedWarning(root: string, commit: string): Promise<string | undefined> {
  const branches = await testedBranches(root);
  if (branches.length === 0) {
    return `cannot tell whether CI tested HEAD ${commit}: this clone has no origin/main and HEAD no upstream branch.`;
  }
  for (const branch of branches) if (await isAncestor(root, commit, branch)) return undefined;
  return `HEAD ${commit} is not on ${branches.join(" nor on ")} (as of the last git fetch): this deploy rolls out commits CI has not tested, and the next deploy from CI replaces them. Push them (the deploy workflow rolls out main once CI passes), or go ahead on purpose.`;
}

// --- The image the function runs ------------------------------------------------------------------

/** What the function runs, compared with the commit a deploy would roll out. */
export type Running =
  | { readonly kind: "none" }
  | { readonly kind: "foreign" | "gone" | "untagged"; readonly image: string }
  | {
      readonly kind: "contained" | "older" | "unknown";
      readonly image: string;
      readonly commit: string;
    };

/** The digest of `image` when it is an image of `repository` (URL@sha256:...), else undefined. */
export function digestIn(repository: Repository, image: string): string | undefined {
  const m = /^(.+)@(sha256:[0-9a-f]{64})$/.exec(image);
  return m && m[1] === repository.url ? m[2] : undefined;
}

/** The tags of the image `digest`, or undefined when the repository no longer holds it. */
async function imageTags(ecr: ECRClient, repository: Repository, digest: string) {
  const out = await unlessAbsent(() =>
    ecr.send(
      new DescribeImagesCommand({
        registryId: repository.account,
        repositoryName: repository.name,
        imageIds: [{ imageDigest: digest }],
      }),
    ),
  );
  return out === undefined ? undefined : (out.imageDetails?.[0]?.imageTags ?? []);
}

/**
 * The one comparison both deploys make: whether `target` (HEAD, or the commit CI would deploy)
 * contains the commit of `image`, the image the function runs ("" when there is no function).
 */
export async function compareWithRunning(
  ecr: ECRClient,
  root: string,
  repository: Repository,
  image: string,
  target: string,
): Promise<Running> {
  if (image === "") return { kind: "none" };
  const digest = digestIn(repository, image);
  if (digest === undefined) return { kind: "foreign", image };
  const tags = await imageTags(ecr, repository, digest);
  if (tags === undefined) return { kind: "gone", image };
  const commits = commitsInTags(tags);
  if (commits.length === 0) return { kind: "untagged", image };
  let unknown: string | undefined;
  for (const commit of commits) {
    if (!(await hasCommit(root, commit))) unknown = commit;
    else if (await isAncestor(root, commit, target)) return { kind: "contained", image, commit };
  }
  if (unknown !== undefined) return { kind: "unknown", image, commit: unknown };
  return { kind: "older", image, commit: commits[0] as string };
}

/** Why no deploy ever updates a function running another repository's image (no override). */
export function foreignImage(image: string, repository: Repository): string {
  return `the function runs ${image}, not an image of ${repository.url}: it is not this deployment's function, or someone pointed it elsewhere. A deploy never updates a function whose image is not from its own repository, and there is no override. Nothing was built or changed.`;
}

// --- The local deploy ----------------------------------------------------------------------------

/** Where a check's progress goes: numbered steps, indented lines, warnings. */
export interface Report {
  step(title: string): void;
  info(line: string): void;
  warn(problem: string): void;
}

export interface LocalDeploy {
  /** The project root: the git checkout the image is built from. */
  readonly root: string;
  readonly repository: Repository;
  readonly imageInputs: readonly string[];
  /** What the function runs (Code.ResolvedImageUri); "" when it does not exist yet. */
  readonly running: string;
  /** THUMBNAILER_ALLOW_ROLLBACK=1: refusals become warnings (never the foreign image's). */
  readonly allowRollback: boolean;
  /** Check the checkout, say what would be read from ECR, return no commit. */
  readonly dryRun: boolean;
}

/** THUMBNAILER_ALLOW_ROLLBACK as the one-run switch accepts it: unset, 0 or 1. */
export function allowRollback(value: string | undefined): boolean {
  if (value === undefined || value === "" || value === "0") return false;
  if (value === "1") return true;
  throw new RolloutRefusedError(
    `THUMBNAILER_ALLOW_ROLLBACK='${value}' is not accepted: set it to 1 for one deploy that may roll back or deploy uncommitted inputs, or leave it unset`,
  );
}

/** Stops with `problem`, or, with the override, only says it. */
function refuser(deploy: LocalDeploy, report: Report) {
  return (problem: string): void => {
    if (deploy.allowRollback) {
      report.warn(`${problem}\n    Going ahead: THUMBNAILER_ALLOW_ROLLBACK=1.`);
      return;
    }
    throw new RolloutRefusedError(
      `${problem}\nNothing was built or changed. To deploy this checkout anyway (a deliberate rollback), once:\nTHUMBNAILER_ALLOW_ROLLBACK=1 npm run deploy`,
    );
  };
}

/** HEAD when the image inputs are committed (the commit the image holds), else undefined. */
async function committedHead(deploy: LocalDeploy, refuse: (p: string) => void, report: Report) {
  report.step("Are the image inputs committed?");
  const sha = await head(deploy.root);
  if (sha === undefined) {
    refuse(
      `${deploy.root} is not a git checkout with a commit: the image could not be traced to any commit.`,
    );
    return { head: undefined, commit: undefined };
  }
  const changed = await uncommittedInputs(deploy.root, deploy.imageInputs);
  if (changed !== "") {
    refuse(
      `uncommitted changes to the image inputs, so the image could not be traced to any commit:\n${changed}\nCommit them (or set them aside) and deploy again.`,
    );
    return { head: sha, commit: undefined };
  }
  report.info(`yes: the image holds the code of HEAD ${sha}`);
  return { head: sha, commit: sha };
}

/** Says, or refuses, what the comparison of HEAD with the running image found. */
function judgeLocal(running: Running, head: string, refuse: (p: string) => void, report: Report) {
  switch (running.kind) {
    case "none":
      return report.info("the function does not exist yet: nothing to compare");
    case "foreign":
      throw new Error("internal: a foreign image is refused before it is compared");
    case "gone":
      return refuse(
        `the function runs ${running.image}, which its repository no longer holds: its tags, which name the commit it was built from, went with it, so nothing tells whether HEAD (${head}) contains that code.`,
      );
    case "untagged":
      return report.info(
        `${running.image} carries no commit tag (deployed before deploys recorded one, or with THUMBNAILER_ALLOW_ROLLBACK): cannot tell which code it runs, not checked`,
      );
    case "contained":
      return report.info(
        `yes: HEAD ${head} contains ${running.commit}, the commit of the image the function runs`,
      );
    case "unknown":
      return refuse(
        `the function runs ${running.image}, built from commit ${running.commit}, which this clone does not have. Run git fetch, bring HEAD up to that commit (git merge or rebase), and deploy again.`,
      );
    case "older":
      return refuse(
        `the function runs ${running.image}, built from commit ${running.commit}, which HEAD (${head}) does not contain: deploying this checkout would replace newer code with older or diverged code. Bring HEAD up to that commit (git pull, merge or rebase) and deploy again.`,
      );
  }
}

/**
 * The checks before a local deploy builds anything. Returns the commit the image holds (HEAD),
 * or "" when it holds uncommitted inputs or in a dry run; throws RolloutRefusedError to refuse.
 */
export async function checkLocalDeploy(
  ecr: ECRClient,
  deploy: LocalDeploy,
  report: Report,
): Promise<string> {
  const refuse = refuser(deploy, report);
  const { head, commit } = await committedHead(deploy, refuse, report);

  report.step("Does HEAD contain the code the function runs?");
  if (deploy.running !== "" && digestIn(deploy.repository, deploy.running) === undefined) {
    throw new RolloutRefusedError(foreignImage(deploy.running, deploy.repository));
  }
  if (deploy.running === "") {
    report.info("the function does not exist yet: nothing to compare");
  } else if (head === undefined) {
    report.info("no HEAD to compare with");
  } else if (deploy.dryRun) {
    report.info(
      `would read the tags of ${deploy.running} (ECR DescribeImages) and compare its commit with HEAD`,
    );
    return "";
  } else {
    const running = await compareWithRunning(
      ecr,
      deploy.root,
      deploy.repository,
      deploy.running,
      head,
    );
    judgeLocal(running, head, refuse, report);
  }

  if (head !== undefined) {
    report.step("Has CI tested HEAD?");
    const warning = await untestedWarning(deploy.root, head);
    if (warning === undefined) report.info(`yes: HEAD ${head} is on a branch CI tests`);
    else report.warn(warning);
  }
  return commit ?? "";
}

// --- The deploy workflow -------------------------------------------------------------------------

export type CiVerdict = "deploy" | "unchecked" | "older" | "refuse";

/** Whether the deploy workflow may roll `commit` out over what the function runs, and why. */
export async function checkCiDeploy(
  ecr: ECRClient,
  root: string,
  repository: Repository,
  running: string,
  commit: string,
): Promise<{ verdict: CiVerdict; why: string }> {
  const r = await compareWithRunning(ecr, root, repository, running, commit);
  switch (r.kind) {
    case "none":
      return { verdict: "deploy", why: `the function does not exist yet: deploying ${commit}` };
    case "foreign":
      return { verdict: "refuse", why: foreignImage(r.image, repository) };
    case "gone":
    case "untagged":
      return {
        verdict: "unchecked",
        why: `the function runs ${r.image}, which ${r.kind === "gone" ? "the repository no longer holds" : "carries no commit tag"}: cannot tell which commit it runs; deploying ${commit}`,
      };
    case "contained":
      return {
        verdict: "deploy",
        why: `${commit} contains ${r.commit}, the commit the function runs: deploying it`,
      };
    case "unknown":
      return {
        verdict: "older",
        why: `Not deployed: the function runs ${r.image}, built from commit ${r.commit}, which this repository does not have (a local deploy of unpushed commits?). Deploying ${commit} would replace it; push that commit to main, or deploy from a checkout that contains it.`,
      };
    case "older":
      return {
        verdict: "older",
        why: `Not deployed: the function runs ${r.image}, built from commit ${r.commit}, which ${commit} does not contain (a re-run of an older CI run?). Deploying it would replace newer code with older; nothing was changed.`,
      };
  }
}

// --- Command line --------------------------------------------------------------------------------

/** Progress on stderr, in the scripts' format (scripts/lib/common.sh: step, info). */
function stderrReport(): Report {
  let n = 0;
  const write = (text: string) => process.stderr.write(text);
  return {
    step: (title) => write(`\n==> [${++n}] ${title}\n`),
    info: (line) => write(`    ${line}\n`),
    warn: (problem) => write(`\nwarning: ${problem}\n`),
  };
}

const OPTIONS = {
  "repository-url": { type: "string" },
  "image-inputs": { type: "string", default: "" },
  running: { type: "string", default: "" },
  region: { type: "string" },
  commit: { type: "string" },
  "dry-run": { type: "boolean", default: false },
} as const;

async function main(argv: string[]): Promise<void> {
  const [mode, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: OPTIONS, strict: true });
  const repository = parseRepositoryUrl(values["repository-url"] ?? "");
  const ecr = new ECRClient(clientConfig({ region: values.region || repository.region }));
  const root = process.cwd();
  if (mode === "local") {
    const imageInputs = values["image-inputs"].split("\n").filter((line) => line !== "");
    if (imageInputs.length === 0) {
      throw new RolloutRefusedError(
        "--image-inputs is required: the image inputs, one path a line",
      );
    }
    const deploy: LocalDeploy = {
      root,
      repository,
      imageInputs,
      running: values.running,
      allowRollback: allowRollback(process.env.THUMBNAILER_ALLOW_ROLLBACK),
      dryRun: values["dry-run"],
    };
    process.stdout.write(`${await checkLocalDeploy(ecr, deploy, stderrReport())}\n`);
  } else if (mode === "ci" && values.commit) {
    const { verdict, why } = await checkCiDeploy(
      ecr,
      root,
      repository,
      values.running,
      values.commit,
    );
    process.stdout.write(`${verdict}\t${why}\n`);
  } else {
    throw new RolloutRefusedError(
      "usage: rollout-guard.js local --repository-url URL --image-inputs PATHS [--running IMAGE_URI] [--region R] [--dry-run]\n" +
        "       rollout-guard.js ci --repository-url URL --running IMAGE_URI --commit SHA [--region R]",
    );
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    const message =
      error instanceof RolloutRefusedError
        ? error.message
        : `cannot check the rollout: ${describeError(error)}`;
    process.stderr.write(`\nerror: ${message}\n`);
    process.exitCode = 1;
  });
}
