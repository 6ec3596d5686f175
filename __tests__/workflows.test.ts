/**
 * The GitHub Actions workflows: valid against the workflow schema (@action-validator/core, the
 * real validator compiled to wasm), least permissions, third-party actions pinned by full commit
 * SHA with the version in a comment, and the steps the deploy depends on, in order. Inline `run`
 * scripts go through shellcheck in `npm run lint` (scripts/lint-shell.js).
 */

import { execFileSync } from "node:child_process";
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { parse } from "yaml";
import { GITHUB_SETTINGS } from "../ops/github-settings";
import { runWithStandIns, type ScriptRun } from "./support/fake-tools";
import { REPOSITORY_URL } from "./support/script-rules";
import { sdkStandIn } from "./support/sdk-stand-in";

const ROOT = join(__dirname, "..");
const DIR = join(ROOT, ".github", "workflows");

interface Step {
  name?: string;
  "timeout-minutes"?: number;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  "continue-on-error"?: boolean;
}
interface Job {
  if?: string;
  needs?: string | string[];
  permissions?: Record<string, string> | string;
  steps: Step[];
  env?: Record<string, string>;
  container?: { image: string } | string;
  concurrency?: { group: string; "cancel-in-progress": unknown };
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; "cancel-in-progress": unknown };
  jobs: Record<string, Job>;
}

const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const text = (file: string) => readFileSync(join(DIR, file), "utf8");
const workflow = (file: string) => parse(text(file)) as Workflow;
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((job) => job.steps);

/** The validator warns on stderr that it does not check path globs; keep the test output clean. */
function validate(source: string) {
  const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
  try {
    return validateWorkflow(source);
  } finally {
    warn.mockRestore();
  }
}

describe("workflows", () => {
  it("are ci.yml and deploy.yml", () => {
    expect(files.sort()).toEqual(["ci.yml", "deploy.yml"]);
  });

  it.each(files)("%s is valid against the GitHub workflow schema", (file) => {
    // Act
    const result = validate(text(file));

    // Assert
    expect(result.errors).toEqual([]);
  });

  it("the validator rejects an invalid workflow (so the check above means something)", () => {
    const result = validateWorkflow(
      "on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    stepz: []\n",
    );

    expect(result.errors.length).toBeGreaterThan(0);
  });

  it.each(files)(
    "%s pins every third-party action to a full commit SHA with its version in a comment",
    (file) => {
      // Arrange
      const lines = text(file).split("\n");
      const uses = steps(workflow(file)).flatMap((step) =>
        step.uses === undefined ? [] : [step.uses],
      );

      // Assert
      expect(uses.length).toBeGreaterThan(0);
      for (const use of uses) {
        if (use.startsWith("./")) continue;
        expect(use).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
        const line = lines.find((l) => l.includes(`uses: ${use}`)) ?? "";
        expect([use, line]).toEqual([use, expect.stringMatching(/ # v\d+\.\d+\.\d+$/)]);
      }
    },
  );

  it("pins exactly the actions listed in docs/ship.md, each on a release whose action.yml runs on node24", () => {
    // Arrange: the table's rows "| owner/name | vX.Y.Z | <40 hex> | `using: node24` |"
    const doc = readFileSync(join(ROOT, "docs", "ship.md"), "utf8");
    const documented = [
      ...doc.matchAll(
        /^\| `([\w.-]+\/[\w.-]+)` +\| (v\d+\.\d+\.\d+) +\| `([0-9a-f]{40})` +\| `(.+?)` +\|$/gm,
      ),
    ].map((m) => ({ action: m[1], version: m[2], sha: m[3], using: m[4] }));
    const pinned = files.flatMap((file) =>
      [...text(file).matchAll(/uses: ([\w.-]+\/[\w.-]+)@([0-9a-f]{40}) # (v\S+)/g)].map((m) => ({
        action: m[1],
        version: m[3],
        sha: m[2],
      })),
    );

    // Assert: every pin is a documented row, and every documented release says node24
    expect(pinned.length).toBeGreaterThan(0);
    for (const pin of pinned) {
      expect(documented).toContainEqual({ ...pin, using: "using: node24" });
    }
  });

  it.each(files)(
    "%s grants least permissions: read-only by default, writes only where a job needs them",
    (file) => {
      // Arrange
      const w = workflow(file);

      // Assert: read-only workflow default
      expect(w.permissions).toEqual({ contents: "read" });
      for (const [name, job] of Object.entries(w.jobs)) {
        if (job.permissions === undefined) continue;
        expect(typeof job.permissions).toBe("object");
        const writes = Object.entries(job.permissions as Record<string, string>).filter(
          ([, v]) => v !== "read",
        );
        // The only write anywhere: the deploy job's OIDC token.
        expect([name, writes]).toEqual([
          name,
          file === "deploy.yml" && name === "deploy" ? [["id-token", "write"]] : [],
        ]);
      }
    },
  );
});

describe("ci.yml", () => {
  const ci = workflow("ci.yml");
  const runs = steps(ci).flatMap((s) => (s.run === undefined ? [] : [s.run]));

  it("runs on pull requests and pushes", () => {
    expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(["pull_request", "push"]));
  });

  it("runs npm ci, lint, type-check, the three test tiers and synth, in that order", () => {
    const order = [
      "npm ci",
      "npm run lint",
      "npm run typecheck",
      "npm test",
      "npm run test:infra",
      "npm run test:system",
      "npx cdktf synth",
    ].map((cmd) => runs.findIndex((run) => run.startsWith(cmd)));

    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it("has real Terraform (setup-terraform, raw CLI) and the Debian tools .ci/run installs", () => {
    // Arrange: the apt packages .ci/run installs
    const ciRun = readFileSync(join(ROOT, ".ci", "run"), "utf8");
    const packages = [...ciRun.matchAll(/need\+=\(([\w.-]+)\)/g)].map((m) => m[1] as string);
    const terraform = steps(ci).find((s) => s.uses?.startsWith("hashicorp/setup-terraform@"));
    const apt = runs.find((run) => run.includes("apt-get install")) ?? "";

    // Assert
    expect(terraform?.with?.terraform_wrapper).toBe(false);
    expect(packages.length).toBeGreaterThan(0);
    for (const pkg of packages) expect([pkg, apt.includes(pkg)]).toEqual([pkg, true]);
  });
});

describe("deploy.yml", () => {
  const deploy = workflow("deploy.yml");
  const all = steps(deploy);
  const indexOf = (predicate: (s: Step) => boolean) => all.findIndex(predicate);

  it("deploys a commit of main only after CI passed for that very commit", () => {
    // Arrange
    const ci = workflow("ci.yml") as Workflow & { name?: string };
    const trigger = deploy.on.workflow_run as {
      workflows: string[];
      types: string[];
      branches: string[];
    };
    const job = deploy.jobs.deploy as Job;
    const checkout = all.find((s) => s.uses?.startsWith("actions/checkout@"));

    // Assert: triggered by the CI workflow's completion on main, never by a bare push
    expect(Object.keys(deploy.on).sort()).toEqual(["workflow_dispatch", "workflow_run"]);
    expect(trigger.workflows).toEqual([ci.name]);
    expect(trigger.types).toEqual(["completed"]);
    expect(trigger.branches).toEqual(["main"]);
    expect(job.if).toContain("github.event.workflow_run.conclusion == 'success'");
    expect(job.if).toContain("github.event.workflow_run.event == 'push'");
    // The commit CI tested is the one built, not whatever main points at by now.
    expect(checkout?.with?.ref).toContain("github.event.workflow_run.head_sha");
    expect(job.env?.DEPLOY_SHA).toContain("github.event.workflow_run.head_sha");
  });

  it("never runs two deploys at once, and never cancels one halfway", () => {
    const job = deploy.jobs.deploy;
    expect(job?.concurrency?.group).toMatch(/^deploy-/);
    expect(job?.concurrency?.["cancel-in-progress"]).toBe(false);
  });

  it("lets a run whose deploy job is skipped (CI failed) leave a pending deploy alone", () => {
    // A group holds one pending run: a workflow-level group would put every run that completes
    // CI, failed ones too, in line, and the newest pending run replaces the older. At job level
    // only a job that runs joins it.
    expect(deploy.concurrency).toBeUndefined();
  });

  it("gets AWS credentials through OIDC with the deploy role, no static keys", () => {
    const credentials = all.find((s) =>
      s.uses?.startsWith("aws-actions/configure-aws-credentials@"),
    );

    expect(credentials?.with?.["role-to-assume"]).toMatch(
      /^\$\{\{ secrets\.AWS_DEPLOY_ROLE_ARN \}\}$/,
    );
    expect(Object.keys(credentials?.with ?? {})).not.toContain("aws-access-key-id");
    expect(text("deploy.yml")).not.toMatch(/AWS_SECRET_ACCESS_KEY|aws-secret-access-key/);
  });

  it("logs in to ECR, builds and pushes for the function's architecture, updates, waits, smoke-tests", () => {
    // Act
    const order = [
      indexOf((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@") ?? false),
      indexOf((s) => s.uses?.startsWith("aws-actions/amazon-ecr-login@") ?? false),
      indexOf((s) => s.uses?.startsWith("docker/setup-buildx-action@") ?? false),
      indexOf((s) => s.run?.includes("scripts/push-image.sh") ?? false),
      indexOf((s) => s.name === POINT),
      indexOf((s) => s.run?.includes("scripts/smoke-test.sh") ?? false),
    ];
    const push = all[order[3] as number]?.run ?? "";
    const update = all[order[4] as number]?.run ?? "";
    const checks = all.map((s) => s.run ?? "").join("\n");

    // Assert
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // Tagged with the commit; platform from LAMBDA_ARCHITECTURE (checked against the function).
    expect(push).toMatch(/--tag "\$DEPLOY_SHA"/);
    expect(push).toMatch(/--platform "\$PLATFORM"/);
    expect(checks).toContain('x86_64) echo "PLATFORM=linux/amd64"');
    expect(checks).toContain('arm64) echo "PLATFORM=linux/arm64"');
    expect(checks).toContain('"$actual" != "$LAMBDA_ARCHITECTURE"');
    // The function runs the pushed digest, and the smoke test waits for the update to finish.
    expect(update).toContain("node dist/ops/function-code.js point");
    expect(update).toContain('--image "$ECR_REPOSITORY@$DIGEST"');
    expect(update).toContain('--previous "$PREVIOUS_IMAGE"');
  });

  it("rolls back when a step fails, or the job is cancelled or times out, once the update has started", () => {
    // Arrange
    const rollback = all[all.length - 1];
    const started = all.findIndex((s) => s.id === "rollout-started");
    const update = all.findIndex((s) => s.name === POINT);

    // Assert: a step that finished before the update says the function may have changed...
    expect(started).toBeGreaterThanOrEqual(0);
    expect(started).toBe(update - 1);
    expect(all[started]?.run).toContain('echo "started=true" >>"$GITHUB_OUTPUT"');
    // ...and the rollback runs on failure and on cancellation (a timeout cancels the job)
    expect(rollback?.if).toContain("failure()");
    expect(rollback?.if).toContain("cancelled()");
    expect(rollback?.if).toContain("steps.rollout-started.outputs.started == 'true'");
    expect(rollback?.run).toContain('--image "$PREVIOUS_IMAGE"');
    expect(rollback?.["timeout-minutes"]).toBeGreaterThan(0);
  });

  it("after a good update and smoke test, a failed tag move warns instead of rolling back", () => {
    // Arrange
    const tags = all.findIndex((s) =>
      /scripts\/tag-deployed\.sh[^|]*--deployed "\$DIGEST"/.test(s.run ?? ""),
    );
    const smoke = indexOf((s) => s.run?.includes("scripts/smoke-test.sh") ?? false);

    // Assert: its own step, after the smoke test, whose failure fails neither the job nor
    // triggers the rollback (failure() stays false after a continue-on-error step)
    expect(tags).toBeGreaterThan(smoke);
    expect(all[tags]?.["continue-on-error"]).toBe(true);
    expect(all[tags]?.run).not.toContain("function-code.js");
  });

  it("checks every variable and the secret it uses before doing anything", () => {
    // Arrange: the table bootstrap.sh sets them from
    const settings = GITHUB_SETTINGS.map((s) => s.name);
    const precheck = all[0];

    // Assert
    expect(precheck?.name).toMatch(/Check the repository is configured/);
    expect(precheck?.env?.AWS_DEPLOY_ROLE_ARN).toMatch(
      /^\$\{\{ secrets\.AWS_DEPLOY_ROLE_ARN \}\}$/,
    );
    const checked = /for name in ([\w ]+); do/.exec(precheck?.run ?? "")?.[1]?.split(" ") ?? [];
    expect(checked.sort()).toEqual([...settings].sort());
  });

  it("reads exactly the variables and secret scripts/bootstrap.sh sets", () => {
    // Arrange: the table bootstrap.sh sets them from
    const settings = GITHUB_SETTINGS.map((s) => `${s.kind} ${s.name}`);
    const used = [...text("deploy.yml").matchAll(/\$\{\{\s*(vars|secrets)\.(\w+)\s*\}\}/g)].map(
      (m) => `${m[1] === "vars" ? "variable" : "secret"} ${m[2]}`,
    );

    // Assert
    expect(settings.length).toBeGreaterThan(0);
    expect([...new Set(used)].sort()).toEqual([...new Set(settings)].sort());
  });
});

/** How GitHub runs a `run:` script with `shell: bash`. */
const BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"];
const CHECK = "Check the function's architecture and remember its current image";
const POINT = "Point the function at the new image and wait for the update";
const ROLLBACK = "Roll back to the previous image";

describe("deploy.yml reads and updates the function through ops/function-code.ts (issue 19)", () => {
  const all = steps(workflow("deploy.yml"));
  const step = (name: string) => all.find((s) => s.name === name);
  const DIGEST = `sha256:${"d1".repeat(32)}`;
  const PREVIOUS = `${REPOSITORY_URL}@sha256:${"5e".repeat(32)}`;
  const fn = (architecture: string, image: string) => ({
    output: {
      Configuration: {
        Architectures: [architecture],
        RevisionId: "rev-7",
        LastUpdateStatus: "Successful",
      },
      Code: { ResolvedImageUri: image },
    },
  });

  /** Runs the step `name` against the SDK stand-in's function; its output, env file and Lambda calls. */
  function runStep(name: string, getFunction: ReturnType<typeof fn>, env: NodeJS.ProcessEnv = {}) {
    const sdk = sdkStandIn({
      "Lambda.GetFunction": getFunction,
      "Lambda.UpdateFunctionCode": { output: { LastUpdateStatus: "InProgress" } },
    });
    const dir = mkdtempSync(join(tmpdir(), "deploy-step-"));
    const githubEnv = join(dir, "github-env");
    writeFileSync(githubEnv, "");
    try {
      const run = runWithStandIns([...BASH, step(name)?.run ?? "exit 99"], {
        env: {
          ...sdk.env,
          ECR_REPOSITORY: REPOSITORY_URL,
          AWS_REGION: "eu-west-1",
          LAMBDA_FUNCTION_NAME: "thumbs",
          LAMBDA_ARCHITECTURE: "x86_64",
          PREVIOUS_IMAGE: PREVIOUS,
          GITHUB_ENV: githubEnv,
          ...env,
        },
      });
      const updates = sdk.calls("function-code").filter((c) => c.command === "UpdateFunctionCode");
      return { run, env: readFileSync(githubEnv, "utf8"), updates };
    } finally {
      sdk.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("calls the ops tool, built by npm ci before them, never the aws CLI", () => {
    const npmCi = all.findIndex((s) => s.name === "npm ci");

    for (const name of [CHECK, POINT, ROLLBACK]) {
      expect([name, step(name)?.run]).toEqual([
        name,
        expect.stringContaining("node dist/ops/function-code.js "),
      ]);
      expect([name, step(name)?.run]).toEqual([name, expect.not.stringContaining("aws lambda")]);
      expect(all.findIndex((s) => s.name === name)).toBeGreaterThan(npmCi);
    }
  });

  it("remembers the running image when the architecture matches, and fails naming both when not", () => {
    const good = runStep(CHECK, fn("x86_64", PREVIOUS));
    const bad = runStep(CHECK, fn("arm64", PREVIOUS));

    expect(good.run.status).toBe(0);
    expect(good.env).toBe(`PREVIOUS_IMAGE=${PREVIOUS}\n`);
    expect(bad.run.status).toBe(1);
    expect(bad.run.stdout).toContain(
      "::error::The function runs on arm64 but LAMBDA_ARCHITECTURE is x86_64",
    );
    expect(bad.env).toBe("");
  });

  it("points the function at the pushed digest only while it runs the image read before", () => {
    const pointed = runStep(POINT, fn("x86_64", PREVIOUS), { DIGEST });
    const changed = runStep(POINT, fn("x86_64", `${REPOSITORY_URL}@${DIGEST}`), { DIGEST });

    expect(pointed.run.status).toBe(0);
    expect(pointed.updates.map((c) => c.input)).toEqual([
      {
        FunctionName: "thumbs",
        ImageUri: `${REPOSITORY_URL}@${DIGEST}`,
        Architectures: ["x86_64"],
        RevisionId: "rev-7",
      },
    ]);
    expect(pointed.run.stdout).toContain(`::notice::thumbs now runs ${REPOSITORY_URL}@${DIGEST}`);
    expect(changed.run.status).not.toBe(0);
    expect(changed.run.stderr).toContain("changed while the image was built");
    expect(changed.updates).toEqual([]);
  });

  it("rolls back to the previous image whatever the function runs after the failure", () => {
    const run = runStep(ROLLBACK, fn("x86_64", `${REPOSITORY_URL}@${DIGEST}`), { DIGEST: "" });

    expect(run.run.status).toBe(0);
    expect(run.updates.map((c) => c.input.ImageUri)).toEqual([PREVIOUS]);
    expect(run.run.stdout).toContain(
      `::error::The deploy failed or was cancelled after the update: thumbs is back on ${PREVIOUS}.`,
    );
  });
});

describe("deploy.yml never deploys a commit older than what the function runs (issue 19, item 4)", () => {
  const deploy = workflow("deploy.yml");
  const all = steps(deploy);
  const guardAt = all.findIndex((s) => s.id === "guard");
  const guard = all[guardAt];

  let repo: string;
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", repo, ...args], { encoding: "utf8" }).trim();
  /** Commits a change and returns its SHA. */
  const commit = (n: number) => {
    writeFileSync(join(repo, "file"), `${n}\n`);
    git("add", "file");
    git("commit", "--quiet", "-m", `change ${n}`);
    return git("rev-parse", "HEAD");
  };
  beforeEach(() => {
    // The runner's checkout: real git history, and the dist/ `npm ci` builds.
    repo = mkdtempSync(join(tmpdir(), "thumbnailer-runner-"));
    git("init", "--quiet", "--initial-branch=main");
    git("config", "user.email", "ci@example.com");
    git("config", "user.name", "CI");
    for (const link of ["dist", "node_modules"]) symlinkSync(join(ROOT, link), join(repo, link));
  });
  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  const RUNNING = `sha256:${"5e".repeat(32)}`;

  /** Runs the guard step in the checkout, the function running an image tagged `tags`. */
  function runGuard(deploySha: string, tags: string[], image = `${REPOSITORY_URL}@${RUNNING}`) {
    const sdk = sdkStandIn({
      "ECR.DescribeImages": {
        output: { imageDetails: [{ imageDigest: RUNNING, imageTags: tags }] },
      },
    });
    const output = join(repo, "github-output");
    writeFileSync(output, "");
    try {
      const run: ScriptRun = runWithStandIns([...BASH, guard?.run ?? "exit 99"], {
        project: repo,
        env: {
          ...sdk.env,
          ECR_REPOSITORY: REPOSITORY_URL,
          AWS_REGION: "eu-west-1",
          PREVIOUS_IMAGE: image,
          DEPLOY_SHA: deploySha,
          GITHUB_OUTPUT: output,
        },
      });
      return { run, output: readFileSync(output, "utf8"), sdk: sdk.calls() };
    } finally {
      sdk.cleanup();
    }
  }

  it("checks out the whole history, so that the guard can compare commits", () => {
    const checkout = all.find((s) => s.uses?.startsWith("actions/checkout@"));

    expect(checkout?.with?.["fetch-depth"]).toBe(0);
  });

  it("runs the guard of local deploys (ops/rollout-guard.ts) once the running image is read, before building", () => {
    const read = all.findIndex((s) => s.run?.includes("PREVIOUS_IMAGE=") ?? false);
    const push = all.findIndex((s) => s.run?.includes("scripts/push-image.sh") ?? false);

    expect(guard?.run).toContain("node dist/ops/rollout-guard.js ci");
    expect(guard?.run).not.toContain("${{");
    expect(read).toBeGreaterThanOrEqual(0);
    expect(guardAt).toBeGreaterThan(read);
    expect(guardAt).toBeLessThan(push);
  });

  it("re-running an old CI run ends the job successfully with a notice, and skips every later step", () => {
    // Arrange: the function runs B; the old run would deploy A, B's parent
    const a = commit(1);
    const b = commit(2);

    // Act
    const { run, output, sdk } = runGuard(a, [b, "deployed"]);

    // Assert: the step succeeds, says why, and tells the later steps not to run
    expect(run.stderr).not.toContain("error");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      `::notice::Not deployed: the function runs ${REPOSITORY_URL}@${RUNNING}, built from commit ${b}, which ${a} does not contain`,
    );
    expect(output).toBe("deploy=false\n");
    expect(sdk.map((call) => call.input)).toEqual([
      {
        registryId: "123456789012",
        repositoryName: "thumbnailer",
        imageIds: [{ imageDigest: RUNNING }],
      },
    ]);
    const later = all.slice(guardAt + 1).filter((s) => !s.if?.includes("failure()"));
    expect(later.length).toBeGreaterThan(5);
    for (const step of later) {
      expect([step.name ?? step.uses, step.if]).toEqual([
        step.name ?? step.uses,
        expect.stringContaining("steps.guard.outputs.deploy == 'true'"),
      ]);
    }
  });

  it("deploys a commit that contains the running image's", () => {
    const a = commit(1);
    const b = commit(2);

    const { run, output } = runGuard(b, [a]);

    expect(run.status).toBe(0);
    expect(run.stdout).not.toContain("::");
    expect(output).toBe("deploy=true\n");
  });

  it("fails with an error when the function runs another repository's image", () => {
    const a = commit(1);

    const { run, output } = runGuard(a, [a], `${REPOSITORY_URL}-other@${RUNNING}`);

    expect(run.status).not.toBe(0);
    expect(run.stdout).toContain(
      `::error::the function runs ${REPOSITORY_URL}-other@${RUNNING}, not an image of ${REPOSITORY_URL}`,
    );
    expect(output).toBe("");
  });

  it("by hand (workflow_dispatch) deploys only a commit the CI workflow passed for", () => {
    // Arrange: the step that asks GitHub, and a gh that answers how many CI runs passed
    const job = deploy.jobs.deploy as Job;
    const check = all.find((s) => s.if === "github.event_name == 'workflow_dispatch'");
    const sha = "c1".repeat(20);
    const run = (passed: number) =>
      runWithStandIns([...BASH, check?.run ?? "exit 99"], {
        rules: `respond() { case "$1 $2" in "gh api") echo ${passed} ;; esac; }`,
        env: { DEPLOY_SHA: sha, GITHUB_REPOSITORY: "acme/thumbs", GH_TOKEN: "token" },
      });

    // Act
    const failed = run(0);
    const passed = run(1);

    // Assert: it asks about the CI workflow's successful runs of that very commit
    expect(check?.env?.GH_TOKEN).toMatch(/^\$\{\{ github\.token \}\}$/);
    expect(job.permissions).toEqual(expect.objectContaining({ actions: "read" }));
    expect(failed.lines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^gh api repos/acme/thumbs/actions/workflows/ci\\.yml/runs\\?head_sha=${sha}&status=success`,
        ),
      ),
    ]);
    expect(files).toContain("ci.yml");
    expect(failed.status).not.toBe(0);
    expect(failed.stdout).toContain(`::error::CI has not passed for ${sha}`);
    expect(passed.status).toBe(0);
    // Before anything is built or deployed
    expect(all.indexOf(check as Step)).toBeLessThan(guardAt);
  });

  it("runs npm ci on the Node.js package.json's engines allows (actions/setup-node)", () => {
    const setup = all.findIndex((s) => s.uses?.startsWith("actions/setup-node@") ?? false);
    const npmCi = all.findIndex((s) => s.run?.startsWith("npm ci") ?? false);

    expect(setup).toBeGreaterThanOrEqual(0);
    expect(setup).toBeLessThan(npmCi);
    expect(all[setup]?.with?.["node-version-file"]).toBe("package.json");
  });
});
