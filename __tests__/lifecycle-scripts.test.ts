/**
 * Sequences of script runs, not single runs: what one command leaves in the checkout must make
 * the next one plan the same deployment. The scripts run for real in a scratch copy of the
 * project against the recording stand-ins (aws, docker, gh, terraform, npx); the stacks are
 * synthesized for real (main.ts's buildStacks) from what the scripts left in cdktf.json.
 */

import { runScript, type ScratchProject, scratchProject } from "./support/fake-tools";
import { resources, scrubbed, synthInfra } from "./support/infra";
import { GITHUB_OIDC_PROVIDER, oidcProviders, rules } from "./support/script-rules";

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

  it("a plain synth afterwards, with no THUMBNAILER_* variables, plans exactly what bootstrap deployed", () => {
    // Arrange + Act: bootstrap with settings in the environment
    const planned = synthInfra({ githubRepository: "acme/thumbs" }, bootstrapEnv);
    const bootstrap = runScript(
      "bootstrap.sh",
      ["--yes", "--local-state", "--repo", "acme/thumbs"],
      {
        project: project.dir,
        rules: rules(),
        env: { ...bootstrapEnv, SYNTH_OUT: planned.outdir },
      },
    );
    planned.cleanup();
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
    const planned = synthInfra({ githubRepository: "acme/thumbs" }, bootstrapEnv);
    runScript("bootstrap.sh", ["--yes", "--local-state", "--repo", "acme/thumbs"], {
      project: project.dir,
      rules: rules(),
      env: { ...bootstrapEnv, SYNTH_OUT: planned.outdir },
    });
    planned.cleanup();

    const infra = synthInfra(project.context(), {});

    // Act
    const overridden = runScript("destroy.sh", ["--yes"], {
      project: project.dir,
      rules: rules(),
      env: { THUMBNAILER_REGION: "us-east-1", SYNTH_OUT: infra.outdir },
    });
    const destroy = runScript("destroy.sh", ["--yes"], {
      project: project.dir,
      rules: rules(),
      env: { SYNTH_OUT: infra.outdir },
    });
    infra.cleanup();

    // Assert: a different region would plan (and destroy) another deployment: refused
    expect(overridden.status).toBe(1);
    expect(overridden.stderr).toContain(
      'THUMBNAILER_REGION=us-east-1 overrides cdktf.json context region "eu-west-1"',
    );
    expect(overridden.lines.some((l) => l.startsWith("npx"))).toBe(false);
    expect(destroy.status).toBe(0);
    expect(destroy.lines).toContain("npx cdktf destroy * --auto-approve");
    expect(destroy.lines).toContain("gh secret delete AWS_DEPLOY_ROLE_ARN --repo acme/thumbs");
  });
});

describe("a deployment made without a GitHub repository -> destroy.sh", () => {
  it("destroys without guessing a repository from the checkout, and touches no GitHub settings", () => {
    // Arrange: deployed with `npm run deploy`, no githubRepository (so no CI role)
    project.cleanup();
    project = scratchProject({ region: "eu-west-1" });
    const infra = synthInfra(project.context(), {});

    // Act
    const run = runScript("destroy.sh", ["--yes"], {
      project: project.dir,
      rules: rules(),
      env: { SYNTH_OUT: infra.outdir },
    });
    infra.cleanup();

    // Assert
    expect(run.status).toBe(0);
    expect(run.lines.filter((l) => l.startsWith("gh"))).toEqual([]);
    expect(run.lines).toContain("npx cdktf destroy * --auto-approve");
    // The destroy plans no deploy role: it saw no repository.
    expect(run.files("destroy-saw-repository")).toBe("");
    expect(run.stderr).toContain("deployed without a GitHub repository");
  });
});

describe("teardown with non-empty buckets (forceDestroyBuckets off)", () => {
  // Deleted objects of a versioned bucket leave versions and delete markers; a bucket holding
  // only delete markers is not empty either: Terraform cannot delete it.
  it.each([
    ["versions and delete markers", 3, 1],
    ["only delete markers", 0, 2],
  ])("refuses before changing anything, listing a bucket that holds %s", (_, versions, markers) => {
    // Arrange: the deployment's real synth; the source bucket holds `versions` versions and
    // `markers` delete markers, the thumbnail bucket is empty
    project.cleanup();
    project = scratchProject({ region: "eu-west-1", githubRepository: "acme/thumbs" });
    const infra = synthInfra(project.context(), {});
    const arms = `
    "aws s3api list-object-versions --bucket thumbnailer-source-"*) printf '${versions}\\t${markers}\\tFalse\\n' ;;
    "aws s3api list-object-versions"*) printf '0\\t0\\tFalse\\n' ;;`;

    // Act
    const run = runScript("destroy.sh", ["--yes"], {
      project: project.dir,
      rules: rules(arms),
      env: { SYNTH_OUT: infra.outdir },
    });
    infra.cleanup();

    // Assert: refused, naming the bucket and both ways out
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Refusing to destroy: nothing was changed");
    expect(run.stderr).toContain(
      `s3://thumbnailer-source-123456789012-eu-west-1 holds ${versions} object versions and ${markers} delete markers`,
    );
    expect(run.stderr).not.toContain("s3://thumbnailer-thumbnails-123456789012-eu-west-1 holds");
    expect(run.stderr).toContain('set "forceDestroyBuckets": true in cdktf.json');
    // Nothing but reads: no destroy, no Terraform, no GitHub change
    const listed = (bucket: string) =>
      `aws s3api list-object-versions --bucket ${bucket} --region eu-west-1 --max-keys 1000 ` +
      "--no-paginate --output text --query [length(Versions || `[]`), length(DeleteMarkers || `[]`), IsTruncated]";
    expect(run.lines).toEqual([
      "aws --version",
      "aws sts get-caller-identity --query Account --output text",
      "gh auth status",
      "npx cdktf synth",
      listed("thumbnailer-thumbnails-123456789012-eu-west-1"),
      listed("thumbnailer-source-123456789012-eu-west-1"),
    ]);
  });
});

describe("bootstrap in an account that may already have GitHub's OIDC provider", () => {
  const PROVIDER = GITHUB_OIDC_PROVIDER;
  const OTHER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AB12";
  /** Rules for an account whose OIDC providers are `arns`, GitHub's tagged `owner` (or untagged). */
  const account = (arns: string[], owner?: string) => rules(oidcProviders(arns, owner));
  function bootstrap(rulesText: string) {
    // The real synth the account preflight reads (ops/preflight.ts)
    const planned = synthInfra(
      { githubRepository: "acme/thumbs" },
      { THUMBNAILER_REGION: "eu-west-1" },
    );
    try {
      return runScript("bootstrap.sh", ["--yes", "--local-state", "--repo", "acme/thumbs"], {
        project: project.dir,
        rules: rulesText,
        env: { THUMBNAILER_REGION: "eu-west-1", SYNTH_OUT: planned.outdir },
      });
    } finally {
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
    expect(plannedProviders()).toEqual({});
  });

  it("in an account without one: persists nothing, and the stack creates one tagged as this deployment's", () => {
    // Act
    const run = bootstrap(account([OTHER]));

    // Assert
    expect(run.status).toBe(0);
    expect(run.lines).toContain(
      "aws iam list-open-id-connect-providers --query OpenIDConnectProviderList[].Arn --output text",
    );
    expect(project.context().githubOidcProviderArn).toBeUndefined();
    expect(run.stderr).toContain(
      "no GitHub OIDC provider in the account: this deployment creates one",
    );
    const providers = Object.values(plannedProviders());
    expect(providers).toHaveLength(1);
    expect(providers[0]).toMatchObject({
      url: "https://token.actions.githubusercontent.com",
      tags: { "thumbnailer:deployment": "thumbnailer-eu-west-1" },
    });
  });

  it("leaves a provider tagged as this deployment's to Terraform: nothing is persisted", () => {
    // Act: a second bootstrap of the deployment that created the provider
    const run = bootstrap(account([PROVIDER], "thumbnailer-eu-west-1"));

    // Assert
    expect(run.status).toBe(0);
    expect(project.context().githubOidcProviderArn).toBeUndefined();
    expect(run.stderr).toContain(`the GitHub OIDC provider ${PROVIDER} is this deployment's`);
    expect(Object.keys(plannedProviders())).toHaveLength(1);
  });

  it("treats a provider tagged for another deployment (name or region) as foreign", () => {
    // Act: the same name deployed in another region made it; destroying that one deletes it
    const run = bootstrap(account([PROVIDER], "thumbnailer-us-east-1"));

    // Assert
    expect(run.status).toBe(0);
    expect(project.context().githubOidcProviderArn).toBe(PROVIDER);
  });
});
