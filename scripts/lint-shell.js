#!/usr/bin/env node
/**
 * The shell half of `npm run lint` (biome is the other): shellcheck over every shell script in
 * scripts/ (following scripts/lib/common.sh; among them the image build and rollout the Lambda
 * stack runs, scripts/build-and-roll-out.sh), .ci/run, the recording stand-in the scripts' tests
 * run, and each inline `run:` script of the GitHub workflows.
 *
 * Without shellcheck: in CI (the CI variable set, as GitHub Actions and .ci/run set it) this
 * fails; on a laptop it says that the shell code was NOT checked and how to install shellcheck,
 * and passes, so that TypeScript-only work is not blocked (CI checks the shell code anyway).
 */
const { spawnSync } = require("node:child_process");
const { readdirSync, readFileSync } = require("node:fs");
const { join } = require("node:path");

const ROOT = join(__dirname, "..");
const INSTALL =
  "install it: sudo apt-get install shellcheck (Debian, Ubuntu), brew install shellcheck " +
  "(macOS), or see https://github.com/koalaman/shellcheck#installing";

/** Runs shellcheck; `input` goes to its stdin ("-"). Returns its report, "" when clean. */
function shellcheck(args, input) {
  const result = spawnSync("shellcheck", args, { cwd: ROOT, input, encoding: "utf8" });
  if (result.error) throw result.error;
  return result.status === 0 ? "" : `${result.stdout}${result.stderr}`;
}

function scriptFiles() {
  const scripts = readdirSync(join(ROOT, "scripts"), { recursive: true })
    .filter((file) => file.endsWith(".sh"))
    .map((file) => join("scripts", file));
  return [
    ...scripts.sort(),
    join(".ci", "run"),
    join("__tests__", "support", "fake-bin", "record"),
    join("__tests__", "support", "no-terraform", "terraform"),
  ];
}

/** [where, script] for each step with `run:`; ${{ }} expressions are replaced as Actions would. */
function workflowScripts() {
  const { parse } = require("yaml");
  const dir = join(ROOT, ".github", "workflows");
  const found = [];
  for (const file of readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()) {
    const workflow = parse(readFileSync(join(dir, file), "utf8"));
    for (const [jobName, job] of Object.entries(workflow.jobs ?? {})) {
      for (const [index, step] of (job.steps ?? []).entries()) {
        if (typeof step.run !== "string") continue;
        const where = `.github/workflows/${file}: ${jobName}: ${step.name ?? `step ${index + 1}`}`;
        // GitHub runs `bash -e {0}` with pipefail for `shell: bash`.
        const body = step.run.replace(/\$\{\{[^}]*\}\}/g, "x");
        found.push([where, `#!/usr/bin/env bash\nset -eo pipefail\n${body}`]);
      }
    }
  }
  return found;
}

function main() {
  if (spawnSync("shellcheck", ["--version"]).error) {
    if (process.env.CI) {
      console.error(`lint: shellcheck is required in CI and is not installed; ${INSTALL}`);
      process.exit(1);
    }
    console.warn(
      `lint: shellcheck is not installed, so the shell code was NOT checked; ${INSTALL}`,
    );
    return;
  }
  const files = scriptFiles();
  const checks = [
    ["scripts", shellcheck(["-x", ...files])],
    ...workflowScripts().map(([where, script]) => [where, shellcheck(["-s", "bash", "-"], script)]),
  ];
  const problems = checks.filter(([, report]) => report !== "");
  for (const [where, report] of problems) console.error(`${where}:\n${report}`);
  if (problems.length > 0) process.exit(1);
  console.log(
    `shellcheck: ${files.length} scripts and ${checks.length - 1} workflow run scripts are clean`,
  );
}

main();
