/**
 * Sequences of deploys, not single synths (integration: real Terraform CLI, offline; npm run
 * test:infra). Each step synthesizes the real app with that step's settings and plans it against
 * the state the previous step's apply would have left (support/offline-deploy.ts); where a step is
 * a script (bootstrap.sh, destroy.sh) it runs for real against the recording stand-ins, and the
 * next step synthesizes what it left in the checkout. The sequences are independent (each has its
 * own working folder, state and scratch project), so they run side by side (it.concurrent, as
 * many at a time as jest.infra.config.js's maxConcurrency), all on the run's one terraform init.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEPLOYED_TAG } from "../stacks/image-repository";
import { runScript, scratchProject } from "./support/fake-tools";
import { type SynthedInfra, synthInfra } from "./support/infra";
import {
  changed,
  changeOf,
  created,
  deleted,
  type OfflineDeploy,
  offlineDeploy,
  type Plan,
} from "./support/offline-deploy";
import { GITHUB_OIDC_PROVIDER, rules } from "./support/script-rules";
import { CALLER, NEW_ACCOUNT, sdkStandIn } from "./support/sdk-stand-in";
import { dependenciesState, type TerraformCli, terraformCli } from "./support/terraform";

const TIMEOUT = 600_000;
const REGION = "eu-west-1";

let cli: TerraformCli;
const synths: SynthedInfra[] = [];
const deploys: OfflineDeploy[] = [];

beforeAll(() => {
  cli = terraformCli();
});
afterAll(async () => {
  for (const deploy of deploys) await deploy.cleanup();
  for (const infra of synths) infra.cleanup();
});

const NAME = "thumbs-life";

function synth(context: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): SynthedInfra {
  const infra = synthInfra({ region: REGION, name: NAME, ...context }, env);
  synths.push(infra);
  return infra;
}

/** The image the first deploy's image build pushed and tagged (the function is created from it). */
const FIRST_IMAGE = `sha256:${"5e".repeat(32)}`;
/** A later push that never passed CI's smoke test: never tagged `deployed`. */
const FAILED_CI_IMAGE = `sha256:${"fa".repeat(32)}`;

/**
 * An offline deploy of the Lambda stack, its cross-stack inputs read from a fake applied state,
 * its repository holding the image the first deploy's image build pushes.
 */
async function lambdaDeploy(first: SynthedInfra): Promise<OfflineDeploy> {
  const remoteState = join(first.outdir, "dependencies-applied.tfstate");
  writeFileSync(remoteState, dependenciesState(first.stacks.dependencies.json, REGION));
  const remoteStates = Object.keys(first.stacks.lambda.json.data?.terraform_remote_state ?? {});
  const deploy = await offlineDeploy(cli, first.stacks.lambda, {
    data: {
      terraform_remote_state: Object.fromEntries(
        remoteStates.map((name) => [name, { config: { path: remoteState } }]),
      ),
    },
  });
  deploys.push(deploy);
  deploy.registry.push(NAME, FIRST_IMAGE, [DEPLOYED_TAG]);
  deploy.registry.push(NAME, FAILED_CI_IMAGE, [`commit-amd64-${"c1".repeat(20)}`]);
  return deploy;
}

/** Addresses of a plan's changes with `actions` (e.g. ["update"]), sorted. */
function withActions(plan: Plan, actions: string[]): string[] {
  return (plan.resource_changes ?? [])
    .filter((c) => c.change.actions.join() === actions.join())
    .map((c) => c.address)
    .sort();
}

it.concurrent(
  "default -> arm64 -> back to x86_64 (architecture switch): never lets Terraform change the architecture under the old image: the rollout changes both",
  async () => {
    // Arrange: the first deploy, on the default architecture
    const x86 = synth({});
    const deploy = await lambdaDeploy(x86);
    const first = await deploy.plan(x86.stacks.lambda);
    expect(changeOf(first, "aws_lambda_function.function").after?.architectures).toEqual([
      "x86_64",
    ]);
    await deploy.apply(first);

    for (const [architecture, platform] of [
      ["arm64", "linux/arm64"],
      ["x86_64", "linux/amd64"],
    ] as const) {
      // Act: switch the setting and plan the next deploy
      const next = synth({ architecture });
      const plan = await deploy.plan(next.stacks.lambda);

      // Assert: the rollout (image-build) runs again for the new platform, nothing else
      // changes...
      expect(changed(plan)).toEqual(["terraform_data.image-build"]);
      const build = changeOf(plan, "terraform_data.image-build");
      expect(build.actions).toEqual(["delete", "create"]);
      expect(build.after?.triggers_replace).toMatchObject({ platform });
      // ...and Terraform's own update of the function (UpdateFunctionCode with the image in
      // state, the old one) does not touch the architecture.
      const fn = changeOf(plan, "aws_lambda_function.function");
      expect({ architectures: fn.after?.architectures }).toEqual({
        architectures: fn.before?.architectures,
      });
      await deploy.apply(plan);
    }
  },
  TIMEOUT,
);

// What the setting adds (stacks/alarm-topic.ts): the key, the topic, its policy, the subscription
const TOPIC_TYPES = [
  "aws_kms_key",
  "aws_sns_topic",
  "aws_sns_topic_policy",
  "aws_sns_topic_subscription",
];
const ALARMS = ["dropped-events", "errors", "failure-queue-depth", "throttles"].map(
  (id) => `aws_cloudwatch_metric_alarm.${id}`,
);

it.concurrent(
  "alarm e-mail on -> another address -> off: adds the topic, its key and the subscription, replaces only the subscription, then removes exactly those",
  async () => {
    // Arrange: the first deploy, with alarm e-mails
    const on = synth({ alarmEmail: "ops@example.com" });
    const deploy = await lambdaDeploy(on);
    const first = await deploy.plan(on.stacks.lambda);
    const topic = created(first)
      .filter((address) => TOPIC_TYPES.includes(address.split(".")[0] ?? ""))
      .sort();
    expect(topic).toHaveLength(TOPIC_TYPES.length);
    await deploy.apply(first);

    // Act 1: another address
    const moved = await deploy.plan(synth({ alarmEmail: "oncall@example.com" }).stacks.lambda);

    // Assert 1: a new subscription (SNS cannot change an endpoint); topic and key stay, so the
    // alarms keep their action and nothing else changes
    expect(changed(moved)).toEqual(["aws_sns_topic_subscription.alarm-email"]);
    const subscription = changeOf(moved, "aws_sns_topic_subscription.alarm-email");
    expect(subscription.actions).toEqual(["delete", "create"]);
    expect(subscription.after?.endpoint).toBe("oncall@example.com");
    await deploy.apply(moved);

    // Act 2: alarm e-mails off
    const off = await deploy.plan(synth({}).stacks.lambda);

    // Assert 2: the topic, its policy, the subscription and the key are deleted (the key
    // scheduled for deletion after 7 days), the four alarms lose their actions in place, and
    // nothing else changes: not the function, its image, permissions or the trigger
    expect(withActions(off, ["delete"])).toEqual(topic);
    const key = topic.find((address) => address.startsWith("aws_kms_key."));
    expect(changeOf(off, String(key)).before?.deletion_window_in_days).toBe(7);
    const topicArn = changeOf(off, "aws_sns_topic.alarm-topic").before?.arn;
    expect(withActions(off, ["update"])).toEqual(ALARMS);
    for (const alarm of ALARMS) {
      const { before, after } = changeOf(off, alarm);
      expect({ alarm, actions: before?.alarm_actions, ok: before?.ok_actions }).toEqual({
        alarm,
        actions: [topicArn],
        ok: [topicArn],
      });
      expect({ alarm, actions: after?.alarm_actions, ok: after?.ok_actions }).toEqual({
        alarm,
        actions: [],
        ok: [],
      });
    }
    expect(changed(off).sort()).toEqual([...ALARMS, ...topic].sort());
    // The function's image was read from the registry, not invented: the plan asked for the one
    // tagged deployed, never the newest push (a failed CI build).
    const lookups = deploy.registry.calls.filter((call) => call.operation === "DescribeImages");
    expect(lookups.length).toBeGreaterThan(0);
    for (const { body } of lookups) {
      expect(body).toMatchObject({ repositoryName: NAME, imageIds: [{ imageTag: DEPLOYED_TAG }] });
    }
  },
  TIMEOUT,
);

const OTHER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AB12";
const OURS = "aws_iam_openid_connect_provider.github-oidc";
const providers = (addresses: string[]) =>
  addresses.filter((a) => a.startsWith("aws_iam_openid_connect_provider."));

it.concurrent.each([
  {
    account: "without one",
    arns: [OTHER],
    outcome: "bootstrap creates it, a plain redeploy keeps it, destroy deletes it with the rest",
    ours: [OURS],
  },
  {
    account: "with another project's",
    arns: [OTHER, GITHUB_OIDC_PROVIDER],
    outcome: "the deploy role trusts it, a plain redeploy keeps that, destroy never deletes it",
    ours: [],
  },
])(
  "bootstrap -> plain deploy -> destroy, with and without the account's GitHub OIDC provider: $account: $outcome",
  async ({ arns, ours }) => {
    const project = scratchProject();
    try {
      // Step 1: scripts/bootstrap.sh in that account (its account checks read a real synth)
      const env = { THUMBNAILER_REGION: REGION };
      const planned = synthInfra({ githubRepository: "acme/thumbs" }, env);
      const sdk = sdkStandIn({
        ...NEW_ACCOUNT,
        "IAM.ListOpenIDConnectProviders": {
          output: { OpenIDConnectProviderList: arns.map((Arn) => ({ Arn })) },
        },
        "IAM.GetOpenIDConnectProvider": { output: { ClientIDList: ["sts.amazonaws.com"] } },
      });
      const bootstrap = runScript(
        "bootstrap.sh",
        ["--yes", "--local-state", "--repo", "acme/thumbs"],
        {
          project: project.dir,
          rules: rules(),
          env: { ...sdk.env, ...env, SYNTH_OUT: planned.outdir },
        },
      );
      sdk.cleanup();
      planned.cleanup();
      expect(bootstrap.stderr).not.toMatch(/error:/);
      expect(bootstrap.status).toBe(0);

      // Step 2: the deploy bootstrap ran (the checkout and environment its cdktf deploy saw)
      const bootstrapped = synthInfra(
        JSON.parse(bootstrap.files("deploy-saw-cdktf.json")).context,
        {
          ...env,
          THUMBNAILER_GITHUB_REPOSITORY: bootstrap.files("deploy-saw-repository"),
        },
      );
      synths.push(bootstrapped);
      const deploy = await offlineDeploy(cli, bootstrapped.stacks.dependencies);
      deploys.push(deploy);
      const first = await deploy.plan(bootstrapped.stacks.dependencies);
      expect(providers(created(first))).toEqual(ours);
      expect(created(first)).toEqual(
        expect.arrayContaining(["aws_iam_role.deploy-role", "aws_iam_role_policy.deploy-policy"]),
      );
      if (ours.length === 0) {
        const trust = changeOf(first, "aws_iam_role.deploy-role").after?.assume_role_policy;
        expect(JSON.parse(String(trust)).Statement[0].Principal).toEqual({
          Federated: GITHUB_OIDC_PROVIDER,
        });
      }
      await deploy.apply(first);

      // Step 3: `npm run deploy` later, with nothing but the checkout: no change at all
      const plain = synthInfra(project.context(), {});
      synths.push(plain);
      const redeploy = await deploy.plan(plain.stacks.dependencies);
      expect(changed(redeploy)).toEqual([]);

      // Step 4: scripts/destroy.sh, then the destroy it ran
      const empty = sdkStandIn(NEW_ACCOUNT);
      const destroyScript = runScript("destroy.sh", ["--yes"], {
        project: project.dir,
        rules: rules(),
        env: { ...empty.env, SYNTH_OUT: plain.outdir },
      });
      empty.cleanup();
      expect(destroyScript.status).toBe(0);
      expect(destroyScript.lines).toContain(
        "npx cdktf destroy dependencies --auto-approve --ignore-missing-stack-dependencies --skip-synth",
      );
      const destroyed = synthInfra(project.context(), {
        THUMBNAILER_GITHUB_REPOSITORY: destroyScript.files("destroy-saw-repository"),
      });
      synths.push(destroyed);
      const destroy = await deploy.plan(destroyed.stacks.dependencies, { destroy: true });

      // Assert: the destroy deletes exactly what this deployment created, the provider only if
      // it created it
      expect(deleted(destroy).sort()).toEqual(created(first).sort());
      expect(providers(deleted(destroy))).toEqual(ours);
    } finally {
      project.cleanup();
    }
  },
  TIMEOUT,
);

// The deployment keeps its state in S3, where destroy.sh reads it (served from the offline state)
const STATE_BUCKET = "acme-terraform-state";
const context = { stateBucket: STATE_BUCKET };
const STATE_KEY = `${NAME}/${REGION}/dependencies.tfstate`;
const BUCKETS = ["source", "thumbnails"].map((kind) => `${NAME}-${kind}-123456789012-${REGION}`);

it.concurrent(
  "teardown with non-empty buckets: refused -> forceDestroyBuckets on -> deploy -> destroy: deletes the buckets only once a deploy has recorded forceDestroyBuckets on them",
  async () => {
    // Arrange: deployed with forceDestroyBuckets off; the source bucket holds objects
    const off = synth(context);
    const deploy = await offlineDeploy(cli, off.stacks.dependencies);
    deploys.push(deploy);
    const first = await deploy.plan(off.stacks.dependencies);
    await deploy.apply(first);
    const project = scratchProject({ region: REGION, name: NAME, ...context });
    const destroyScript = (infra: SynthedInfra) => {
      // The state object, served from the offline state; the source bucket holds data
      const sdk = sdkStandIn({
        ...CALLER, // destroy.sh's credentials check (ops/aws-account.ts)
        "S3.GetObject": {
          when: { Bucket: STATE_BUCKET, Key: STATE_KEY },
          output: { Body: readFileSync(deploy.statePath, "utf8") },
        },
        "S3.ListObjectVersions": [
          {
            when: { Bucket: BUCKETS[0] },
            output: {
              IsTruncated: false,
              Versions: [1, 2, 3].map((n) => ({ Key: `k${n}`, VersionId: `v${n}` })),
              DeleteMarkers: [{ Key: "k4", VersionId: "v4" }],
            },
          },
          { output: { IsTruncated: false } },
        ],
      });
      try {
        return runScript("destroy.sh", ["--yes"], {
          project: project.dir,
          rules: rules(),
          env: { ...sdk.env, SYNTH_OUT: infra.outdir },
        });
      } finally {
        sdk.cleanup();
      }
    };
    const withForce = () => {
      const settings = join(project.dir, "cdktf.json");
      const cdktf = JSON.parse(readFileSync(settings, "utf8"));
      cdktf.context.forceDestroyBuckets = true;
      writeFileSync(settings, JSON.stringify(cdktf, null, 2));
      return synth({ ...context, forceDestroyBuckets: true });
    };
    try {
      // Act 1: the operator sets forceDestroyBuckets in cdktf.json, but deploys nothing yet
      const on = withForce();
      const early = destroyScript(on);

      // Assert 1: refused before anything changed: Terraform deletes a bucket with the
      // force_destroy recorded in its state (still false), after deleting everything else
      expect(early.stderr).toContain(`s3://${BUCKETS[0]} holds 3 object versions`);
      expect(early.stderr).toContain(
        "forceDestroyBuckets is true in cdktf.json, but these buckets were deployed without it",
      );
      expect(early.stderr).toContain("Run npm run deploy first");
      expect(early.status).toBe(1);
      expect(early.lines.some((line) => line.startsWith("npx cdktf destroy"))).toBe(false);

      // Act 2: npm run deploy
      const record = await deploy.plan(on.stacks.dependencies);

      // Assert 2: both buckets updated in place (no replacement, their objects stay). The only
      // other changes are the four policies naming the buckets' ARNs: Terraform defers reading
      // their policy documents (data sources) to the apply while a bucket has a pending change,
      // so their policy shows as known after apply. Nothing is created, replaced or deleted.
      const buckets = withActions(record, ["update"]).filter((a) => a.startsWith("aws_s3_bucket."));
      expect(buckets.map((address) => changeOf(record, address).after?.bucket).sort()).toEqual(
        [...BUCKETS].sort(),
      );
      for (const address of buckets) {
        const { before, after } = changeOf(record, address);
        expect({ address, before: before?.force_destroy, after: after?.force_destroy }).toEqual({
          address,
          before: false,
          after: true,
        });
      }
      const others = changed(record)
        .filter((address) => !buckets.includes(address))
        .sort();
      expect(others).toEqual([
        "aws_iam_role_policy.backfill-policy",
        "aws_iam_role_policy.execution-policy",
        "aws_s3_bucket_policy.destination-bucket_policy_C1AAD643",
        "aws_s3_bucket_policy.source-bucket_policy_5F589E17",
      ]);
      expect(withActions(record, ["update"])).toEqual([...buckets, ...others].sort());
      for (const address of others) {
        expect({ address, deferred: changeOf(record, address).after_unknown.policy }).toEqual({
          address,
          deferred: true,
        });
      }
      await deploy.apply(record);

      // Act 3: destroy.sh again, and the destroy it runs
      const run = destroyScript(on);
      const destroy = await deploy.plan(on.stacks.dependencies, { destroy: true });

      // Assert 3: it goes ahead, and Terraform deletes everything, the buckets with their objects
      expect(run.stderr).not.toContain("Refusing");
      expect(run.status).toBe(0);
      expect(run.lines).toContain("npx cdktf destroy lambda --auto-approve");
      expect(deleted(destroy).sort()).toEqual(created(first).sort());
      for (const address of buckets) {
        expect(changeOf(destroy, address).before?.force_destroy).toBe(true);
      }
    } finally {
      project.cleanup();
    }
  },
  TIMEOUT,
);
