/**
 * Sequences of script runs, not single runs: what one command leaves in the checkout must make
 * the next one plan the same deployment. The scripts run for real in a scratch copy of the
 * project against the recording stand-ins (aws, docker, gh, terraform, npx); the stacks are
 * synthesized for real (main.ts's buildStacks) from what the scripts left in cdktf.json.
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runScript, type ScratchProject, scratchProject } from "./support/fake-tools";
import { resources, scrubbed, synthInfra } from "./support/infra";
import { GITHUB_OIDC_PROVIDER, rules } from "./support/script-rules";
import {
  type Answers,
  CALLER,
  NEW_ACCOUNT,
  sdkStandIn,
  withNewAccount,
} from "./support/sdk-stand-in";

// Each sequence runs several scripts and real synths: slow on a busy machine.
jest.setTimeout(120_000);

let project: ScratchProject;
beforeEach(() => {
  project = scratchProject();
});
afterEach(() => project.cleanup());

/** Both stacks' JSON, scrubbed of temp paths and hashes, plus whether the CI role is in them. */
function synth(context: Record<string, unknown>, env: NodeJS.ProcessEnv) {
  const infra = synthInfra(context, env);
  try {
    return {
      dependencies: scrubbed(infra, infra.stacks.dependencies),
      lambda: scrubbed(infra, infra.stacks.lambda),
      deployRoles: Object.keys(resources(infra.stacks.dependencies.json, "aws_iam_role")),
    };
  } finally {
    infra.cleanup();
  }
}

describe("bootstrap -> plain deploy -> destroy", () => {
  // What an operator passes to bootstrap.sh for one run only.
  const bootstrapEnv = {
    THUMBNAILER_REGION: "eu-west-1",
    THUMBNAILER_ARCHITECTURE: "arm64",
    THUMBNAILER_MEMORY_MB: "2048",
    THUMBNAILER_THUMB_WIDTH: "320",
  };

  /** bootstrap.sh with `bootstrapEnv`, in an account without a GitHub OIDC provider. */
  function bootstrapped() {
    const planned = synthInfra({ githubRepository: "acme/thumbs" }, bootstrapEnv);
    const sdk = sdkStandIn(NEW_ACCOUNT);
    try {
      return runScript("bootstrap.sh", ["--yes", "--local-state", "--repo", "acme/thumbs"], {
        project: project.dir,
        rules: rules(),
        env: { ...sdk.env, ...bootstrapEnv, SYNTH_OUT: planned.outdir },
      });
    } finally {
      sdk.cleanup();
      planned.cleanup();
    }
  }

  it("a plain synth afterwards, with no THUMBNAILER_* variables, plans exactly what bootstrap deployed", () => {
    // Arrange + Act: bootstrap with settings in the environment
    const bootstrap = bootstrapped();
    expect(bootstrap.stderr).not.toMatch(/error:/);
    expect(bootstrap.status).toBe(0);

    // What bootstrap's deploy planned: the cdktf.json and environment its `cdktf deploy` saw
    const deployed = synth(JSON.parse(bootstrap.files("deploy-saw-cdktf.json")).context, {
      ...bootstrapEnv,
      THUMBNAILER_GITHUB_REPOSITORY: bootstrap.files("deploy-saw-repository"),
    });
    // What `npm run deploy` / `npx cdktf deploy` / CI's synth plan later: only the checkout
    const plain = synth(project.context(), {});

    // Assert: identical stacks, the CI role included
    expect(deployed.deployRoles).toContain("deploy-role");
    expect(plain).toEqual(deployed);
  });

  it("destroy.sh afterwards cleans up the persisted repository and refuses a disagreeing variable", () => {
    // Arrange
    expect(bootstrapped().status).toBe(0);
    const infra = synthInfra(project.context(), {});
    const sdk = sdkStandIn(NEW_ACCOUNT);

    // Act
    const overridden = runScript("destroy.sh", ["--yes"], {
      project: project.dir,
      rules: rules(),
      env: { ...sdk.env, THUMBNAILER_REGION: "us-east-1", SYNTH_OUT: infra.outdir },
    });
    const destroy = runScript("destroy.sh", ["--yes"], {
      project: project.dir,
      rules: rules(),
      env: { ...sdk.env, SYNTH_OUT: infra.outdir },
    });
    sdk.cleanup();
    infra.cleanup();

    // Assert: a different region would plan (and destroy) another deployment: refused
    expect(overridden.status).toBe(1);
    expect(overridden.stderr).toContain(
      'THUMBNAILER_REGION=us-east-1 overrides cdktf.json context region "eu-west-1"',
    );
    expect(overridden.lines.some((l) => l.startsWith("npx"))).toBe(false);
    expect(destroy.status).toBe(0);
    expect(destroy.lines).toContain("npx cdktf destroy lambda --auto-approve");
    expect(destroy.lines).toContain("gh secret delete AWS_DEPLOY_ROLE_ARN --repo acme/thumbs");
  });
});

describe("a deployment made without a GitHub repository -> destroy.sh", () => {
  it("destroys without guessing a repository from the checkout, and touches no GitHub settings", () => {
    // Arrange: deployed with `npm run deploy`, no githubRepository (so no CI role)
    project.cleanup();
    project = scratchProject({ region: "eu-west-1" });
    const infra = synthInfra(project.context(), {});
    const sdk = sdkStandIn(NEW_ACCOUNT);

    // Act
    const run = runScript("destroy.sh", ["--yes"], {
      project: project.dir,
      rules: rules(),
      env: { ...sdk.env, SYNTH_OUT: infra.outdir },
    });
    sdk.cleanup();
    infra.cleanup();

    // Assert
    expect(run.status).toBe(0);
    expect(run.lines.filter((l) => l.startsWith("gh"))).toEqual([]);
    expect(run.lines).toContain(
      "npx cdktf destroy dependencies --auto-approve --ignore-missing-stack-dependencies --skip-synth",
    );
    // The destroy plans no deploy role: it saw no repository.
    expect(run.files("destroy-saw-repository")).toBe("");
    expect(run.stderr).toContain("deployed without a GitHub repository");
  });
});

describe("teardown with non-empty buckets (forceDestroyBuckets off)", () => {
  const SOURCE = "thumbnailer-source-123456789012-eu-west-1";
  const THUMBNAILS = "thumbnailer-thumbnails-123456789012-eu-west-1";
  /** One ListObjectVersions page of a bucket holding `versions` versions and `markers` delete markers. */
  const page = (Bucket: string, versions: number, markers: number) => ({
    when: { Bucket },
    output: {
      IsTruncated: false,
      Versions: Array.from({ length: versions }, (_, i) => ({ Key: `k${i}`, VersionId: `v${i}` })),
      DeleteMarkers: Array.from({ length: markers }, (_, i) => ({
        Key: `d${i}`,
        VersionId: `m${i}`,
      })),
    },
  });
  /**
   * destroy.sh with the buckets answering `answers`, and `afterLambda` once `cdktf destroy lambda`
   * has run (the stand-in swaps the scenario then); `sdk` and `sdkAfterLambda` are the SDK
   * calls made before and after that destroy.
   */
  function destroy(answers: Answers, afterLambda: Answers = answers) {
    project.cleanup();
    project = scratchProject({ region: "eu-west-1", githubRepository: "acme/thumbs" });
    const infra = synthInfra(project.context(), {});
    const sdk = sdkStandIn({ ...CALLER, ...answers });
    const after = sdkStandIn(afterLambda);
    const swap = `
    "npx cdktf destroy lambda"*) cp "${after.env.SDK_STAND_IN}" "$SDK_STAND_IN" ;;`;
    try {
      const run = runScript("destroy.sh", ["--yes"], {
        project: project.dir,
        rules: rules(swap),
        env: { ...sdk.env, SYNTH_OUT: infra.outdir },
      });
      // The preflight's identity check aside (ops/aws-account.ts)
      const buckets = sdk.calls().filter((call) => call.service !== "STS");
      return { ...run, sdk: buckets, sdkAfterLambda: after.calls() };
    } finally {
      sdk.cleanup();
      after.cleanup();
      infra.cleanup();
    }
  }
  const listed = (Bucket: string) => ({
    service: "S3",
    command: "ListObjectVersions",
    input: { Bucket, MaxKeys: 1000 },
  });

  // Deleted objects of a versioned bucket leave versions and delete markers; a bucket holding
  // only delete markers is not empty either: Terraform cannot delete it.
  it.each([
    ["versions and delete markers", 3, 1],
    ["only delete markers", 0, 2],
  ])("refuses before changing anything, listing a bucket that holds %s", (_, versions, markers) => {
    // Act: the source bucket holds `versions` versions and `markers` delete markers, the
    // thumbnail bucket is empty
    const run = destroy({
      "S3.ListObjectVersions": [page(SOURCE, versions, markers), page(THUMBNAILS, 0, 0)],
    });

    // Assert: refused, naming the bucket and both ways out
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Refusing to destroy: nothing was changed");
    expect(run.stderr).toContain(
      `s3://${SOURCE} holds ${versions} object versions and ${markers} delete markers`,
    );
    expect(run.stderr).not.toContain(`s3://${THUMBNAILS} holds`);
    expect(run.stderr).toContain('set "forceDestroyBuckets": true in cdktf.json');
    // Nothing but reads: no destroy, no Terraform, no GitHub change; one page of each bucket
    expect(run.lines).toEqual([
      "gh auth status",
      "gh variable list --repo acme/thumbs --json name,value",
      "npx cdktf synth",
    ]);
    expect(run.sdk).toEqual([listed(THUMBNAILS), listed(SOURCE)]);
    expect(run.sdkAfterLambda).toEqual([]);
  });

  it("destroys the lambda stack first, then checks the buckets again before destroying the dependencies", () => {
    // Act: both buckets empty, then, once the lambda stack is gone, the thumbnail bucket holds
    // what an invocation still running wrote
    const run = destroy(
      { "S3.ListObjectVersions": [page(SOURCE, 0, 0), page(THUMBNAILS, 0, 0)] },
      { "S3.ListObjectVersions": [page(SOURCE, 0, 0), page(THUMBNAILS, 2, 0)] },
    );

    // Assert: the function is gone, the buckets and everything else of the dependencies stack stay
    expect(run.status).toBe(1);
    expect(run.lines.filter((l) => l.startsWith("npx cdktf destroy"))).toEqual([
      "npx cdktf destroy lambda --auto-approve",
    ]);
    expect(run.lines.filter((l) => /^gh (variable|secret) delete/.test(l))).toEqual([]);
    expect(run.sdk).toEqual([listed(THUMBNAILS), listed(SOURCE)]);
    expect(run.sdkAfterLambda).toEqual([listed(THUMBNAILS), listed(SOURCE)]);
    expect(run.stderr).toContain(`s3://${THUMBNAILS} holds 2 object versions and 0 delete markers`);
    expect(run.stderr).toContain(
      "Refusing to destroy the dependencies stack: the lambda stack is destroyed",
    );
  });

  it("with the buckets still empty once the lambda stack is gone, destroys the dependencies stack, then the GitHub settings", () => {
    // Act
    const run = destroy({
      "S3.ListObjectVersions": [page(SOURCE, 0, 0), page(THUMBNAILS, 0, 0)],
    });

    // Assert
    expect(run.status).toBe(0);
    // After the preflight (gh auth status, gh variable list) and npx cdktf synth
    expect(run.lines.slice(3)).toEqual([
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
    expect(run.sdk).toHaveLength(2);
    expect(run.sdkAfterLambda).toHaveLength(2);
  });
});

describe("two deployments of one checkout in one repository", () => {
  /** `gh variable list --json name,value` showing the deploy settings of `name` in `region`. */
  const settingsOf = (name: string, region: string) => `
    "gh variable list"*) echo '[{"name":"LAMBDA_FUNCTION_NAME","value":"${name}"},{"name":"AWS_REGION","value":"${region}"},{"name":"OTHER","value":"x"}]' ;;`;
  /** Records the deployment each cdktf destroy plans (its THUMBNAILER_NAME and _REGION). */
  const destroySaw = `
    "npx cdktf destroy"*) printf '%s %s %s\n' "$3" "\${THUMBNAILER_NAME:-}" "\${THUMBNAILER_REGION:-}" >>"$FAKE_DIR/destroy-saw" ;;`;
  const context = {
    region: "eu-west-1",
    githubRepository: "acme/thumbs",
    forceDestroyBuckets: true,
  };

  it("bootstrap refuses, before creating anything, a repository whose deploy settings are another deployment's", () => {
    // Arrange: the repository deploys thumbs-one; this checkout is bootstrapped as thumbnailer
    const planned = synthInfra(
      { githubRepository: "acme/thumbs" },
      { THUMBNAILER_REGION: "eu-west-1" },
    );
    const sdk = sdkStandIn(CALLER);

    // Act
    const run = runScript("bootstrap.sh", ["--yes", "--repo", "acme/thumbs"], {
      project: project.dir,
      rules: rules(settingsOf("thumbs-one", "eu-west-1")),
      env: { ...sdk.env, THUMBNAILER_REGION: "eu-west-1", SYNTH_OUT: planned.outdir },
    });
    const sdkCalls = sdk.commands();
    sdk.cleanup();
    planned.cleanup();

    // Assert: refused in the preflight, saying whose they are and how to go on
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Preflight failed; nothing was created or changed");
    expect(run.stderr).toContain(
      "the deploy settings of acme/thumbs belong to another deployment: LAMBDA_FUNCTION_NAME=thumbs-one, AWS_REGION=eu-west-1",
    );
    expect(run.stderr).toContain("scripts/destroy.sh --name thumbs-one --region eu-west-1");
    expect(run.lines.some((l) => /^(npx|gh (variable|secret) (set|delete))/.test(l))).toBe(false);
    expect(sdkCalls).toEqual(["STS.GetCallerIdentity"]); // only the credentials check
    expect(project.context()).toEqual({});
  });

  it("destroy.sh leaves another deployment's GitHub settings alone, and says so", () => {
    // Arrange: this checkout's deployment (thumbnailer) shares acme/thumbs with thumbs-one
    project.cleanup();
    project = scratchProject(context);
    const infra = synthInfra(project.context(), {});

    // Act
    const run = runScript("destroy.sh", ["--yes"], {
      project: project.dir,
      rules: rules(settingsOf("thumbs-one", "eu-west-1")),
      env: { SYNTH_OUT: infra.outdir },
    });
    infra.cleanup();

    // Assert: both stacks destroyed, no GitHub setting touched
    expect(run.status).toBe(0);
    expect(run.lines.filter((l) => l.startsWith("npx cdktf destroy"))).toHaveLength(2);
    expect(run.lines.filter((l) => /^gh (variable|secret) (set|delete)/.test(l))).toEqual([]);
    expect(run.stderr).toContain(
      "left alone: the deploy settings of acme/thumbs belong to another deployment: LAMBDA_FUNCTION_NAME=thumbs-one, AWS_REGION=eu-west-1",
    );
  });

  it("destroy.sh --name NAME --region REGION destroys that deployment, with the same guards, and only its own GitHub settings", () => {
    // Arrange: `THUMBNAILER_NAME=thumbs-two THUMBNAILER_REGION=us-east-1 npm run deploy` made a
    // second deployment; the repository's settings are the first's (thumbnailer in eu-west-1)
    project.cleanup();
    project = scratchProject(context);
    const second = synthInfra(project.context(), {
      THUMBNAILER_NAME: "thumbs-two",
      THUMBNAILER_REGION: "us-east-1",
    });

    // Act
    const run = runScript(
      "destroy.sh",
      ["--yes", "--name", "thumbs-two", "--region", "us-east-1"],
      {
        project: project.dir,
        rules: rules(destroySaw + settingsOf("thumbnailer", "eu-west-1")),
        env: { SYNTH_OUT: second.outdir },
      },
    );
    const overridden = runScript("destroy.sh", ["--yes", "--name", "thumbs-two"], {
      project: project.dir,
      rules: rules(destroySaw),
      env: { SYNTH_OUT: second.outdir, THUMBNAILER_MEMORY_MB: "512" },
    });
    second.cleanup();

    // Assert: both stacks of thumbs-two in us-east-1, the first deployment's settings kept
    expect(run.status).toBe(0);
    expect(run.files("destroy-saw")).toBe(
      "lambda thumbs-two us-east-1\ndependencies thumbs-two us-east-1\n",
    );
    expect(run.lines.filter((l) => /^gh (variable|secret) (set|delete)/.test(l))).toEqual([]);
    expect(run.stderr).toContain("LAMBDA_FUNCTION_NAME=thumbnailer, AWS_REGION=eu-west-1");
    expect(project.context()).toEqual(context);
    // Any other variable that disagrees with cdktf.json is still refused
    expect(overridden.status).toBe(1);
    expect(overridden.stderr).toContain(
      "THUMBNAILER_MEMORY_MB=512 overrides cdktf.json context memoryMb (not set there)",
    );
    expect(overridden.lines.some((l) => l.startsWith("npx"))).toBe(false);
  });
});

describe("bootstrap in an account that may already have GitHub's OIDC provider", () => {
  const PROVIDER = GITHUB_OIDC_PROVIDER;
  const OTHER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AB12";
  /** SDK answers for an account whose OIDC providers are `arns`; GitHub's accepts `clientIds`. */
  const account = (arns: string[], clientIds = ["sts.amazonaws.com"]): Answers => ({
    "IAM.ListOpenIDConnectProviders": {
      output: { OpenIDConnectProviderList: arns.map((Arn) => ({ Arn })) },
    },
    "IAM.GetOpenIDConnectProvider": {
      when: { OpenIDConnectProviderArn: PROVIDER },
      output: { Url: "token.actions.githubusercontent.com", ClientIDList: clientIds },
    },
  });
  /** The local Terraform state of deployment thumbnailer's dependencies stack in `region`. */
  function dependenciesState(region: string, providerArn: string) {
    const state = {
      version: 4,
      resources: [
        {
          mode: "managed",
          type: "aws_iam_openid_connect_provider",
          name: "github-oidc",
          instances: [{ attributes: { arn: providerArn, client_id_list: ["sts.amazonaws.com"] } }],
        },
      ],
    };
    writeFileSync(
      join(project.dir, `terraform.thumbnailer-${region}-dependencies.tfstate`),
      JSON.stringify(state),
    );
  }
  function bootstrap(answers: Answers) {
    // The real synth the account checks read (ops/preflight.ts)
    const planned = synthInfra(
      { githubRepository: "acme/thumbs" },
      { THUMBNAILER_REGION: "eu-west-1" },
    );
    const sdk = sdkStandIn(withNewAccount(answers));
    try {
      const run = runScript("bootstrap.sh", ["--yes", "--local-state", "--repo", "acme/thumbs"], {
        project: project.dir,
        rules: rules(),
        env: { ...sdk.env, THUMBNAILER_REGION: "eu-west-1", SYNTH_OUT: planned.outdir },
      });
      return { ...run, sdk: sdk.calls("github-oidc") };
    } finally {
      sdk.cleanup();
      planned.cleanup();
    }
  }
  /** The GitHub OIDC providers the dependencies stack plans, from what bootstrap left in cdktf.json. */
  function plannedProviders() {
    const infra = synthInfra(project.context(), {});
    try {
      return resources(infra.stacks.dependencies.json, "aws_iam_openid_connect_provider");
    } finally {
      infra.cleanup();
    }
  }

  it("reuses a provider another project made: its ARN is persisted and the stack creates none", () => {
    // Act
    const run = bootstrap(account([OTHER, PROVIDER]));

    // Assert: reused before the deploy, so neither this deploy nor any later destroy owns it
    expect(run.status).toBe(0);
    expect(project.context().githubOidcProviderArn).toBe(PROVIDER);
    expect(JSON.parse(run.files("deploy-saw-cdktf.json")).context.githubOidcProviderArn).toBe(
      PROVIDER,
    );
    expect(run.stderr).toContain(`reusing the account's GitHub OIDC provider ${PROVIDER}`);
    expect(run.sdk.map((c) => `${c.service}.${c.command}`)).toEqual([
      "IAM.ListOpenIDConnectProviders",
      "IAM.GetOpenIDConnectProvider",
    ]);
    expect(plannedProviders()).toEqual({});
  });

  it("in an account without one: persists nothing, and the stack creates one", () => {
    // Act
    const run = bootstrap(account([OTHER]));

    // Assert
    expect(run.status).toBe(0);
    expect(run.sdk.map((c) => `${c.service}.${c.command}`)).toEqual([
      "IAM.ListOpenIDConnectProviders",
    ]);
    expect(project.context().githubOidcProviderArn).toBeUndefined();
    expect(run.stderr).toContain(
      "no GitHub OIDC provider in the account: this deployment creates one",
    );
    const providers = Object.values(plannedProviders());
    expect(providers).toHaveLength(1);
    expect(providers[0]).toMatchObject({
      url: "https://token.actions.githubusercontent.com",
      client_id_list: ["sts.amazonaws.com"],
    });
  });

  it("leaves a provider this deployment's Terraform state holds to Terraform, tagged or not: nothing is persisted", () => {
    // Arrange: deployed before the owner tag existed: the provider has no tag, the state has it
    dependenciesState("eu-west-1", PROVIDER);

    // Act: a second bootstrap of the deployment that created the provider
    const run = bootstrap(account([PROVIDER]));

    // Assert: still planned by this deployment, so its next deploy keeps it (never deletes it)
    expect(run.status).toBe(0);
    expect(project.context().githubOidcProviderArn).toBeUndefined();
    expect(run.stderr).toContain(
      `the GitHub OIDC provider ${PROVIDER} is in this deployment's Terraform state`,
    );
    expect(Object.keys(plannedProviders())).toHaveLength(1);
  });

  it("treats a provider only another deployment's state holds (same name, another region) as foreign", () => {
    // Arrange: the same name deployed in another region made it; destroying that one deletes it
    dependenciesState("us-east-1", PROVIDER);

    // Act
    const run = bootstrap(account([PROVIDER]));

    // Assert
    expect(run.status).toBe(0);
    expect(project.context().githubOidcProviderArn).toBe(PROVIDER);
  });

  it("refuses a foreign provider that does not accept sts.amazonaws.com, before anything is created", () => {
    // Act: the deploy role's trust requires the audience sts.amazonaws.com
    const run = bootstrap(account([PROVIDER], ["sigstore"]));

    // Assert: no deploy, no GitHub settings, the provider not persisted
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      `the account's GitHub OIDC provider ${PROVIDER} does not accept the client ID sts.amazonaws.com`,
    );
    expect(run.stderr).toContain(
      `aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${PROVIDER} --client-id sts.amazonaws.com`,
    );
    expect(run.lines.some((l) => /^(npx|gh (variable|secret) set)/.test(l))).toBe(false);
    expect(project.context().githubOidcProviderArn).toBeUndefined();
  });
});
