/**
 * scripts/*.sh run for real (bash, node, git) against recording stand-ins for aws, docker,
 * gh, terraform and npx: each test asserts the calls made, in order, with their arguments.
 */

import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  PROJECT_ROOT,
  runScript,
  type ScratchProject,
  type ScriptOptions,
  type ScriptRun,
  scratchProject,
} from "./support/fake-tools";
import { type SynthedInfra, synthInfra } from "./support/infra";
import {
  ACCOUNT,
  BUILT,
  DIGEST,
  ECR_ARMS,
  ecrAnswers,
  ecrRegistry,
  REPOSITORY_URL,
  ROLE_ARN,
  rules,
} from "./support/script-rules";
import {
  type Answers,
  ECR_LOGIN,
  NEW_ACCOUNT,
  type SdkCall,
  sdkStandIn,
} from "./support/sdk-stand-in";

jest.setTimeout(120_000); // bootstrap and deploy scripts synthesize the stacks

const PREFLIGHT = [
  "docker buildx version",
  "docker info --format {{.ServerVersion}}",
  "terraform version",
  "gh auth status",
];

/** bootstrap.sh and destroy.sh read and write cdktf.json: they run in a scratch copy. */
let project: ScratchProject;
beforeEach(() => {
  project = scratchProject();
});
afterEach(() => project.cleanup());
const runInScratch = (script: string, args: string[], options: ScriptOptions = {}) =>
  runScript(script, args, { project: project.dir, ...options });

describe("scripts/bootstrap.sh", () => {
  // The deployment the stand-in `cdktf synth` hands to the account checks (script-rules.ts).
  let synthed: SynthedInfra;
  beforeAll(() => {
    synthed = synthInfra({ region: "eu-west-1", githubRepository: "acme/thumbs" }, {});
  });
  afterAll(() => synthed.cleanup());
  /** bootstrap.sh in an account without a GitHub OIDC provider (SDK answers: NEW_ACCOUNT, then `answers`). */
  const bootstrap = (args: string[], options: ScriptOptions = {}, answers: Answers = {}) => {
    const sdk = sdkStandIn({ ...NEW_ACCOUNT, ...answers });
    try {
      // Local state: the state bucket step has its own tests (state-scripts.test.ts).
      const run = runInScratch("bootstrap.sh", ["--local-state", ...args], {
        ...options,
        env: { ...sdk.env, SYNTH_OUT: synthed.outdir, ...options.env },
      });
      return { ...run, sts: sdk.commands("aws-account") };
    } finally {
      sdk.cleanup();
    }
  };

  it("checks the machine, deploys, then sets the deploy workflow's GitHub variables and secret", () => {
    // Act
    const run = bootstrap(["--yes"], { rules: rules() });

    // Assert
    expect(run.stderr).not.toMatch(/error:/);
    expect(run.status).toBe(0);
    const deploy = run.calls.find((c) => c.tool === "npx" && c.args[1] === "deploy");
    const outputsFile = deploy?.args[deploy.args.indexOf("--outputs-file") + 1];
    expect(run.lines).toEqual([
      ...PREFLIGHT,
      "gh repo view --json nameWithOwner --jq .nameWithOwner",
      // The repository's deploy settings are not another deployment's (lifecycle-scripts.test.ts)
      "gh variable list --repo acme/thumbs --json name,value",
      // What the deploy would create must not exist yet (__tests__/account-preflight.test.ts)
      "npx cdktf synth",
      `npx cdktf deploy * --outputs-file ${outputsFile} --auto-approve`,
      // LAMBDA_ARCHITECTURE and the upload prefix from the SDK (NEW_ACCOUNT's function: arm64)
      "gh variable set AWS_REGION --repo acme/thumbs --body eu-west-1",
      `gh variable set ECR_REPOSITORY --repo acme/thumbs --body ${REPOSITORY_URL}`,
      "gh variable set LAMBDA_FUNCTION_NAME --repo acme/thumbs --body thumbnailer",
      "gh variable set LAMBDA_ARCHITECTURE --repo acme/thumbs --body arm64",
      "gh variable set SOURCE_BUCKET --repo acme/thumbs --body thumbnailer-source-x1",
      "gh variable set DEST_BUCKET --repo acme/thumbs --body thumbnailer-thumbnails-x1",
      `gh secret set AWS_DEPLOY_ROLE_ARN --repo acme/thumbs --body ${ROLE_ARN}`,
    ]);
    // The deploy role is created for the repository being configured, persisted before the deploy.
    expect(JSON.parse(run.files("deploy-saw-cdktf.json")).context).toEqual({
      githubRepository: "acme/thumbs",
    });
    expect(project.context()).toEqual({ githubRepository: "acme/thumbs" });
    expect(run.stderr).toContain(
      "aws s3 cp photo.jpg s3://thumbnailer-source-x1/uploads/photo.jpg --region eu-west-1",
    );
  });

  it("finds outputs under other spellings and nesting (sourceBucket, source_bucket_name, ...)", () => {
    // Arrange
    const renamed = {
      lambda: {
        sourceBucketName: "src-b",
        destination_bucket: "dst-b",
        outputs: { FunctionName: "fn", repositoryUrl: REPOSITORY_URL, deployRoleArn: ROLE_ARN },
      },
    };

    // Act
    const run = bootstrap(["--repo", "acme/other"], {
      rules: rules("", renamed),
    });

    // Assert
    expect(run.status).toBe(0);
    expect(
      run.lines.filter((l) => l.startsWith("gh variable set") || l.startsWith("gh secret")),
    ).toEqual([
      "gh variable set AWS_REGION --repo acme/other --body eu-west-1",
      `gh variable set ECR_REPOSITORY --repo acme/other --body ${REPOSITORY_URL}`,
      "gh variable set LAMBDA_FUNCTION_NAME --repo acme/other --body fn",
      "gh variable set LAMBDA_ARCHITECTURE --repo acme/other --body arm64",
      "gh variable set SOURCE_BUCKET --repo acme/other --body src-b",
      "gh variable set DEST_BUCKET --repo acme/other --body dst-b",
      `gh secret set AWS_DEPLOY_ROLE_ARN --repo acme/other --body ${ROLE_ARN}`,
    ]);
    // Without --yes, cdktf asks before applying each plan.
    expect(run.lines.find((l) => l.startsWith("npx"))).not.toContain("--auto-approve");
  });

  it("stops with every preflight problem and a non-zero exit before anything is created", () => {
    // Arrange: no AWS credentials (the SDK's STS call fails), no buildx
    const arms = `
    "docker buildx version") echo "docker: unknown command: docker buildx" >&2; return 1 ;;`;
    const noCredentials = { "STS.GetCallerIdentity": { error: "CredentialsProviderError" } };

    // Act
    const run = bootstrap(["--yes"], { rules: rules(arms) }, noCredentials);

    // Assert
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Preflight failed; nothing was created or changed");
    expect(run.stderr).toContain(
      "  - no working AWS credentials: run 'aws configure' or 'aws sso login', or set AWS_PROFILE, then retry\n",
    );
    expect(run.sts).toEqual(["STS.GetCallerIdentity"]);
    expect(run.stderr).toContain("Docker buildx not available");
    expect(run.lines).toEqual([
      ...PREFLIGHT,
      "gh repo view --json nameWithOwner --jq .nameWithOwner",
    ]);
  });

  it.each([
    ["Terraform v1.9.8", true],
    ["Terraform v1.5.7\nOn linux_amd64", true],
    ["Terraform v1.10.0", false],
    ["Terraform v2.0.1", false],
  ])(
    "with '%s' refuses (%s) a Terraform older than 1.10 before anything is created",
    (version, refused) => {
      // Arrange
      const arms = `
    "terraform version") printf '${version}\\n' ;;`;

      // Act
      const run = bootstrap(["--yes", "--repo", "acme/thumbs"], {
        rules: rules(arms),
      });

      // Assert: the S3 backend's lock file (use_lockfile) needs 1.10
      expect(run.status).toBe(refused ? 1 : 0);
      expect(run.stderr.includes("is older than 1.10, the oldest this project supports")).toBe(
        refused,
      );
      expect(run.lines.some((l) => l.startsWith("npx"))).toBe(!refused);
    },
  );

  it.each([
    [`>=${process.versions.node} <${Number(process.versions.node.split(".")[0]) + 1}`, false],
    [`>=${Number(process.versions.node.split(".")[0]) + 1}.0.0 <99`, true],
    [
      `>=${process.versions.node.replace(/\.\d+$/, (patch) => `.${Number(patch.slice(1)) + 1}`)} <99`,
      true,
    ],
  ])(
    "with package.json engines '%s' refuses (%s) this Node.js before anything is created",
    (range, refused) => {
      // Arrange: the scratch project's package.json is the one the preflight reads
      const file = join(project.dir, "package.json");
      const pkg = JSON.parse(readFileSync(file, "utf8"));
      writeFileSync(file, JSON.stringify({ ...pkg, engines: { node: range } }));

      // Act
      const run = bootstrap(["--yes", "--repo", "acme/thumbs"], { rules: rules("") });

      // Assert
      expect(run.status).toBe(refused ? 1 : 0);
      expect(run.stderr.includes(`is outside package.json engines (${range})`)).toBe(refused);
      expect(run.lines.some((l) => l.startsWith("npx"))).toBe(!refused);
    },
  );

  it("reads the account on the SDK, not the AWS CLI, and refuses an unauthenticated gh, naming the fix", () => {
    // Arrange: an AWS CLI v1 on PATH no longer matters
    const arms = `
    "aws --version") echo "aws-cli/1.32.1 Python/3.11.2 Linux/6.1 botocore/1.34.1" ;;
    "gh auth status") echo "You are not logged into any GitHub hosts." >&2; return 1 ;;`;

    // Act
    const run = bootstrap([], { rules: rules(arms) });

    // Assert
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`AWS account ${ACCOUNT}`);
    expect(run.sts).toEqual(["STS.GetCallerIdentity"]);
    expect(run.lines.some((l) => l.startsWith("aws "))).toBe(false);
    expect(run.stderr).toContain("run 'gh auth login'");
    expect(run.lines.some((l) => /^(npx|gh (variable|secret))/.test(l))).toBe(false);
  });

  it("defaults to the repository the deployment is configured for, and refuses a different --repo", () => {
    // Arrange
    const env = { THUMBNAILER_GITHUB_REPOSITORY: "acme/configured" };

    // Act
    const configured = bootstrap(["--yes"], { rules: rules(), env });
    const conflicting = bootstrap(["--repo", "acme/other"], {
      rules: rules(),
      env,
    });

    // Assert
    expect(configured.status).toBe(0);
    expect(configured.lines).not.toContain("gh repo view --json nameWithOwner --jq .nameWithOwner");
    expect(configured.lines).toContain(
      "gh variable set AWS_REGION --repo acme/configured --body eu-west-1",
    );
    expect(conflicting.status).toBe(1);
    expect(conflicting.stderr).toContain(
      "--repo acme/other, but the deployment is configured for acme/configured",
    );
    expect(conflicting.lines.some((l) => /^(npx|gh (variable|secret))/.test(l))).toBe(false);
  });

  it("--dry-run prints every command, runs none", () => {
    // Act
    const run = bootstrap(["--dry-run", "--repo", "acme/thumbs"], {
      rules: rules(),
    });

    // Assert
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([]);
    for (const expected of [
      "would check the AWS credentials and read the account (sts:GetCallerIdentity)",
      "would run: docker buildx version",
      "would run: docker info --format '{{.ServerVersion}}'",
      "would read <LAMBDA_FUNCTION_NAME>'s architecture and SOURCE_PREFIX (lambda:GetFunctionConfiguration)",
      "would run: npx cdktf deploy '*' --outputs-file",
      "would run: gh variable set AWS_REGION --repo acme/thumbs --body '<region>'",
      "would run: gh secret set AWS_DEPLOY_ROLE_ARN --repo acme/thumbs --body '<AWS_DEPLOY_ROLE_ARN>'",
    ]) {
      expect(run.stderr).toContain(expected);
    }
  });
});

describe("scripts/destroy.sh", () => {
  // A deployment bootstrap.sh made for acme/thumbs, whose buckets go with it (the check of
  // non-empty buckets is in lifecycle-scripts.test.ts).
  beforeEach(() => {
    project.cleanup();
    project = scratchProject({ githubRepository: "acme/thumbs", forceDestroyBuckets: true });
  });
  const preflight = ["gh auth status", "gh variable list --repo acme/thumbs --json name,value"];

  it("asks first, and does nothing on 'no'", () => {
    // Act
    const run = runInScratch("destroy.sh", ["--repo", "acme/thumbs"], {
      rules: rules(),
      input: "no\n",
    });

    // Assert
    expect(run.stderr).toContain(
      `Destroy the thumbnail pipeline in AWS account ${ACCOUNT}, and its deploy settings in acme/thumbs? [y/N]`,
    );
    expect(run.stderr).toContain("nothing was destroyed");
    expect(run.status).toBe(1);
    expect(run.lines).toEqual(preflight);
  });

  it("on 'yes' destroys the lambda stack, then the dependencies, then deletes every GitHub setting, tolerating missing ones", () => {
    // Arrange: LAMBDA_ARCHITECTURE was never set
    const arms = `
    "gh variable delete LAMBDA_ARCHITECTURE"*) echo "HTTP 404: Not Found" >&2; return 1 ;;`;

    // Act
    const run = runInScratch("destroy.sh", ["--repo", "acme/thumbs"], {
      rules: rules(arms),
      input: "yes\n",
    });

    // Assert
    expect(run.status).toBe(0);
    expect(run.lines).toEqual([
      ...preflight,
      "npx cdktf destroy lambda --auto-approve",
      "npx cdktf destroy dependencies --auto-approve --ignore-missing-stack-dependencies --skip-synth",
      "gh variable delete AWS_REGION --repo acme/thumbs",
      "gh variable delete ECR_REPOSITORY --repo acme/thumbs",
      "gh variable delete LAMBDA_FUNCTION_NAME --repo acme/thumbs",
      "gh variable delete LAMBDA_ARCHITECTURE --repo acme/thumbs",
      "gh variable delete SOURCE_BUCKET --repo acme/thumbs",
      "gh variable delete DEST_BUCKET --repo acme/thumbs",
      "gh secret delete AWS_DEPLOY_ROLE_ARN --repo acme/thumbs",
    ]);
    expect(run.stderr).toContain("variable LAMBDA_ARCHITECTURE was not set");
  });

  it("--yes does not ask; a failed destroy keeps the GitHub settings", () => {
    // Arrange
    const arms = `
    "npx cdktf destroy"*) echo "Error: deleting S3 Bucket: BucketNotEmpty" >&2; return 1 ;;`;

    // Act
    const run = runInScratch("destroy.sh", ["--yes", "--repo", "acme/thumbs"], {
      rules: rules(arms),
    });

    // Assert
    expect(run.stderr).not.toContain("[y/N]");
    expect(run.status).not.toBe(0);
    expect(run.lines).toEqual([...preflight, "npx cdktf destroy lambda --auto-approve"]);
  });

  it("--dry-run neither asks nor runs anything", () => {
    const run = runInScratch("destroy.sh", ["--dry-run"], { rules: rules() });

    expect(run.status).toBe(0);
    expect(run.calls).toEqual([]);
    expect(run.stderr).toContain("would run: npx cdktf destroy lambda --auto-approve");
    expect(run.stderr).toContain(
      "would run: npx cdktf destroy dependencies --auto-approve --ignore-missing-stack-dependencies --skip-synth",
    );
    expect(run.stderr).toContain(
      "would run: gh secret delete AWS_DEPLOY_ROLE_ARN --repo acme/thumbs",
    );
  });
});

/**
 * push-image.sh against ECR holding `images` (digest -> tags), answered through the SDK stand-in
 * (ops/image-tags.ts decides); `answers` in front of them. The run, with the image-tags tool's
 * SDK calls and the tags it put ("TAG DIGEST").
 */
function pushImage(
  args: string[],
  images: Record<string, string[]>,
  answers: Answers = {},
): ScriptRun & { readonly ecr: SdkCall[]; readonly puts: string[]; readonly login: string[] } {
  const base = ecrAnswers(images);
  const sdk = sdkStandIn({ ...ECR_LOGIN, ...base, ...answers });
  try {
    const run = runScript("push-image.sh", args, {
      rules: rules(ECR_ARMS) + ecrRegistry(images),
      env: sdk.env,
    });
    const ecr = sdk.calls("image-tags");
    const puts = ecr
      .filter((c) => c.command === "PutImage")
      .map((c) => `${c.input.imageTag} ${c.input.imageDigest}`);
    return { ...run, ecr, puts, login: sdk.commands("aws-account") };
  } finally {
    sdk.cleanup();
  }
}

describe("scripts/push-image.sh", () => {
  const lookup = (imageTag: string) => ({
    service: "ECR",
    command: "DescribeImages",
    input: { repositoryName: "thumbnailer", registryId: ACCOUNT, imageIds: [{ imageTag }] },
  });

  it("logs in, builds for the platform without provenance, pushes, and prints only the digest", () => {
    // Act
    const run = pushImage(
      ["--repository-url", REPOSITORY_URL, "--tag", "v1", "--platform", "linux/arm64"],
      {},
    );

    // Assert: looked up before the build (absent) and after it (the pushed image)
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${BUILT}\n`);
    expect(run.ecr).toEqual([lookup("v1"), lookup("v1")]);
    // The password ECR's token holds ("AWS:ecr-password-123", base64) goes to docker's stdin only
    expect(run.login).toEqual(["ECR.GetAuthorizationToken"]);
    expect(run.stderr).not.toContain("ecr-password-123");
    expect(run.lines).toEqual([
      `docker login --username AWS --password-stdin ${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
      "docker:stdin ecr-password-123",
      `docker buildx build --platform linux/arm64 --provenance=false --sbom=false --tag ${REPOSITORY_URL}:v1 ` +
        `--push --file ${PROJECT_ROOT}/Dockerfile ${PROJECT_ROOT}`,
    ]);
  });

  it("tags with the git commit by default, and skips login with --no-login", () => {
    // Arrange
    const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: PROJECT_ROOT, encoding: "utf8" });
    const dirty = spawnSync("git", ["status", "--porcelain"], {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
    });

    // Act
    const run = pushImage(
      ["--repository-url", REPOSITORY_URL, "--platform", "linux/amd64", "--no-login"],
      {},
    );

    // Assert
    expect(run.status).toBe(0);
    const build = run.lines.find((l) => l.startsWith("docker buildx build")) ?? "";
    const tag = /--tag \S+:(\S+)/.exec(build)?.[1] ?? "";
    expect(tag.startsWith(head.stdout.trim())).toBe(true);
    expect(/-dirty-\d{14}$/.test(tag)).toBe(dirty.stdout.trim() !== "");
    expect(build).toContain("--platform linux/amd64 --provenance=false");
    expect(run.lines.some((l) => l.startsWith("docker login"))).toBe(false);
    expect(run.login).toEqual([]);
  });

  it("does not rebuild a tag that is already pushed (immutable tags): prints its digest", () => {
    // Act
    const run = pushImage(
      [
        "--repository-url",
        REPOSITORY_URL,
        "--tag",
        "v1",
        "--platform",
        "linux/amd64",
        "--region",
        "eu-west-1",
      ],
      { [DIGEST]: ["v1"] },
    );

    // Assert
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${DIGEST}\n`);
    expect(run.ecr).toEqual([lookup("v1")]);
    expect(run.lines).toEqual([]);
  });

  it.each([
    [
      ["--repository-url", REPOSITORY_URL, "--platform", "linux/386"],
      "--platform 'linux/386' is not supported",
    ],
    [
      ["--repository-url", "docker.io/acme/thumbs", "--platform", "linux/amd64"],
      "is not an ECR repository URL",
    ],
    [["--platform", "linux/amd64"], "--repository-url is required"],
  ])("rejects bad arguments %j before calling anything", (args, message) => {
    const run = pushImage(args, {});

    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(message);
    expect(run.calls).toEqual([]);
    expect(run.ecr).toEqual([]);
  });

  it("stops with the AWS error when the lookup fails for another reason than a missing tag", () => {
    const run = pushImage(
      ["--repository-url", REPOSITORY_URL, "--tag", "v1", "--platform", "linux/amd64"],
      {},
      { "ECR.DescribeImages": { error: "AccessDeniedException", status: 403 } },
    );

    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("AccessDeniedException");
    expect(run.lines.some((l) => l.startsWith("docker"))).toBe(false);
  });

  it("--dry-run prints the build command, runs nothing", () => {
    const run = pushImage(
      ["--dry-run", "--repository-url", REPOSITORY_URL, "--tag", "v1", "--platform", "linux/arm64"],
      {},
    );

    expect(run.status).toBe(0);
    expect(run.calls).toEqual([]);
    expect(run.ecr).toEqual([]);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(
      `would run: docker buildx build --platform linux/arm64 --provenance=false --sbom=false --tag ${REPOSITORY_URL}:v1 --push`,
    );
    expect(run.stderr).toContain(
      `would run: docker login --username AWS --password-stdin ${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com (password: ecr:GetAuthorizationToken)`,
    );
  });
});

describe("scripts/push-image.sh --inputs-hash (what cdktf deploy passes): an existing tag must hold these inputs", () => {
  const INPUTS = "0123456789abcdef".repeat(4);
  const OTHER_INPUTS = "fedcba9876543210".repeat(4);
  const OLD = `sha256:${"0d".repeat(32)}`;
  /** push-image.sh --tag TAG against a repository holding `images` (digest -> tags). */
  const push = (images: Record<string, string[]>, tag: string, extra: string[] = []) =>
    pushImage(
      ["--repository-url", REPOSITORY_URL, "--tag", tag, "--platform", "linux/arm64", ...extra],
      images,
    );
  const pushInputs = (images: Record<string, string[]>, tag: string) =>
    push(images, tag, ["--inputs-hash", INPUTS]);
  /** The tags buildx pushed and PutImage added: "TAG DIGEST" lines, sorted. */
  const registry = (run: { files: (name: string) => string; puts: string[] }) =>
    [...run.files("registry").trim().split("\n"), ...run.puts].filter((l) => l !== "").sort();

  it("pushes a new image with a second tag, inputs-<platform>-<hash>, that records its inputs", () => {
    // Act
    const run = pushInputs({}, "v1");

    // Assert
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${BUILT}\n`);
    expect(run.lines).toContain(
      `docker buildx build --platform linux/arm64 --provenance=false --sbom=false --tag ${REPOSITORY_URL}:v1 ` +
        `--tag ${REPOSITORY_URL}:inputs-arm64-${INPUTS} --push --file ${PROJECT_ROOT}/Dockerfile ${PROJECT_ROOT}`,
    );
    expect(registry(run)).toEqual([`inputs-arm64-${INPUTS} ${BUILT}`, `v1 ${BUILT}`]);
  });

  it("reuses an existing tag whose image records the same inputs: nothing is built", () => {
    const run = pushInputs({ [OLD]: ["v1", `inputs-arm64-${INPUTS}`] }, "v1");

    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${OLD}\n`);
    expect(run.lines.filter((l) => l.startsWith("docker"))).toEqual([]);
  });

  it.each([
    ["other inputs", `inputs-arm64-${OTHER_INPUTS}`],
    ["the same inputs for another platform", `inputs-amd64-${INPUTS}`],
  ])(
    "fails, building and printing nothing, when a fixed tag already holds an image of %s",
    (_case, recorded) => {
      // Arrange: imageTag v1 was deployed before the code changed
      const images = { [OLD]: ["v1", recorded] };

      // Act
      const run = pushInputs(images, "v1");

      // Assert: a clear refusal naming the tag, what it holds, and what to do
      expect(run.status).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain(
        `error: ${REPOSITORY_URL}:v1 already exists and was built from other image inputs ` +
          `(${recorded}; this checkout's are inputs-arm64-${INPUTS})`,
      );
      expect(run.stderr).toContain(
        "set a new imageTag (cdktf.json context or THUMBNAILER_IMAGE_TAG), or unset it",
      );
      expect(run.lines.filter((l) => l.startsWith("docker"))).toEqual([]);
      expect(run.puts).toEqual([]);
    },
  );

  it("fails when a fixed tag exists without any inputs record: nothing says what it holds", () => {
    const run = pushInputs({ [OLD]: ["v1"] }, "v1");

    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      `error: ${REPOSITORY_URL}:v1 already exists without a record of the image inputs it was built from`,
    );
    expect(run.lines.filter((l) => l.startsWith("docker"))).toEqual([]);
  });

  it("accepts CI's commit tag without an inputs record: the commit identifies the code", () => {
    const sha = "c0ffee".repeat(7).slice(0, 40);

    const run = pushInputs({ [OLD]: [sha] }, sha);

    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${OLD}\n`);
  });

  it("tags an image of the same inputs pushed under another tag instead of building it again", () => {
    // Arrange: v1 holds these inputs; imageTag is now v2
    const images = { [OLD]: ["v1", `inputs-arm64-${INPUTS}`] };

    // Act
    const run = pushInputs(images, "v2");

    // Assert
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${OLD}\n`);
    expect(run.lines.filter((l) => l.startsWith("docker"))).toEqual([]);
    expect(run.puts).toEqual([`v2 ${OLD}`]);
  });

  it("--commit records the commit on an image of these inputs it reuses, not on CI's image of another commit", () => {
    // Arrange: v1 holds these inputs; CI's image of commit `sha` has no inputs record
    const head = "1234567890".repeat(4);
    const sha = "c0ffee".repeat(7).slice(0, 40);
    const images = { [OLD]: ["v1", `inputs-arm64-${INPUTS}`], [DIGEST]: [sha] };

    // Act
    const reused = push(images, "v1", ["--inputs-hash", INPUTS, "--commit", head]);
    const pinned = push(images, sha, ["--inputs-hash", INPUTS, "--commit", head]);

    // Assert
    expect(reused.status).toBe(0);
    expect(reused.puts).toEqual([`commit-arm64-${head} ${OLD}`]);
    expect(pinned.status).toBe(0);
    expect(pinned.stdout).toBe(`${DIGEST}\n`);
    expect(pinned.puts).toEqual([]);
  });

  it("without --inputs-hash (CI) reuses an existing tag as before", () => {
    const run = push({ [OLD]: ["v1", `inputs-arm64-${OTHER_INPUTS}`] }, "v1");

    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${OLD}\n`);
  });

  it("rejects an --inputs-hash that is not a sha256 hex digest", () => {
    const run = pushImage(
      ["--repository-url", REPOSITORY_URL, "--platform", "linux/arm64", "--inputs-hash", "abc"],
      {},
    );

    expect(run.status).toBe(1);
    expect(run.stderr).toContain("--inputs-hash 'abc' is not a sha256 hash (64 hex digits)");
    expect(run.calls).toEqual([]);
  });

  it("rejects --commit without --inputs-hash before calling anything", () => {
    const head = "1234567890".repeat(4);

    const run = pushImage(
      ["--repository-url", REPOSITORY_URL, "--platform", "linux/arm64", "--commit", head],
      {},
    );

    expect(run.status).toBe(1);
    expect(run.stderr).toContain("--commit needs --inputs-hash");
    expect(run.calls).toEqual([]);
    expect(run.ecr).toEqual([]);
  });

  it("--dry-run names the inputs and commit tags it would push, and calls nothing", () => {
    const head = "1234567890".repeat(4);

    const run = push({}, "v1", ["--dry-run", "--inputs-hash", INPUTS, "--commit", head]);

    expect(run.status).toBe(0);
    expect(run.ecr).toEqual([]);
    expect(run.calls).toEqual([]);
    expect(run.stderr).toContain(
      `--tag ${REPOSITORY_URL}:v1 --tag ${REPOSITORY_URL}:inputs-arm64-${INPUTS} ` +
        `--tag ${REPOSITORY_URL}:commit-arm64-${head} --push`,
    );
  });
});

describe("all scripts", () => {
  const scripts = readdirSync(join(PROJECT_ROOT, "scripts")).filter((f) => f.endsWith(".sh"));

  it.each(scripts)(
    "%s --help explains itself and exits 0; an unknown option exits non-zero",
    (script) => {
      const help = runScript(script, ["--help"]);
      const bad = runScript(script, ["--no-such-option"]);

      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^Usage: scripts\//);
      expect(help.calls).toEqual([]);
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toContain("unknown option: --no-such-option");
    },
  );

  it.each([
    ["bootstrap.sh", "--repo", "--repo needs OWNER/NAME"],
    ["destroy.sh", "--repo", "--repo needs OWNER/NAME"],
    ["push-image.sh", "--tag", "--tag needs a value"],
    ["smoke-test.sh", "--timeout", "--timeout needs a value"],
    ["tag-deployed.sh", "--previous", "--previous needs a value"],
  ])("%s %s without its value fails naming the flag, runs nothing", (script, flag, message) => {
    const run = runScript(script, ["--dry-run", flag]);

    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`error: ${message}`);
    expect(run.calls).toEqual([]);
  });

  it("start with set -euo pipefail", () => {
    for (const script of scripts) {
      const run = spawnSync(
        "grep",
        ["-c", "^set -euo pipefail$", join(PROJECT_ROOT, "scripts", script)],
        {
          encoding: "utf8",
        },
      );
      expect([script, run.stdout.trim()]).toEqual([script, "1"]);
    }
  });
});
