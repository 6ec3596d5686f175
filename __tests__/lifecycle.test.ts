/**
 * Sequences of deploys, not single synths (integration: real Terraform CLI, offline). Each step
 * synthesizes the real app with that step's settings and plans it against the state the
 * previous step's apply would have left (support/offline-deploy.ts).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type SynthedInfra, synthInfra } from "./support/infra";
import {
  changeOf,
  created,
  deleted,
  type OfflineDeploy,
  offlineDeploy,
} from "./support/offline-deploy";
import { dependenciesState, type TerraformCli, terraformCli } from "./support/terraform";

const TIMEOUT = 600_000;
const REGION = "eu-west-1";

let cli: TerraformCli;
const synths: SynthedInfra[] = [];
const deploys: OfflineDeploy[] = [];

beforeAll(() => {
  cli = terraformCli();
});
afterAll(() => {
  for (const deploy of deploys) deploy.cleanup();
  for (const infra of synths) infra.cleanup();
});

function synth(context: Record<string, unknown>): SynthedInfra {
  const infra = synthInfra({ region: REGION, name: "thumbs-life", ...context });
  synths.push(infra);
  return infra;
}

/** An offline deploy of the Lambda stack, its cross-stack inputs read from a fake applied state. */
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
  return deploy;
}

describe("default -> arm64 -> back to x86_64 (architecture switch)", () => {
  it(
    "never lets Terraform change the architecture under the old image: the rollout changes both",
    async () => {
      // Arrange: the first deploy, on the default architecture
      const x86 = synth({});
      const deploy = await lambdaDeploy(x86);
      const first = await deploy.plan(x86.stacks.lambda);
      expect(changeOf(first, "aws_lambda_function.function").after?.architectures).toEqual([
        "x86_64",
      ]);
      deploy.apply(first);

      for (const [architecture, platform] of [
        ["arm64", "linux/arm64"],
        ["x86_64", "linux/amd64"],
      ] as const) {
        // Act: switch the setting and plan the next deploy
        const next = synth({ architecture });
        const plan = await deploy.plan(next.stacks.lambda);

        // Assert: the rollout (image-build) runs again for the new platform...
        const build = changeOf(plan, "terraform_data.image-build");
        expect(build.actions).toEqual(["delete", "create"]);
        expect(build.after?.triggers_replace).toMatchObject({ platform });
        // ...and Terraform's own update of the function (UpdateFunctionCode with the image in
        // state, the old one) does not touch the architecture.
        const fn = changeOf(plan, "aws_lambda_function.function");
        expect({ architectures: fn.after?.architectures }).toEqual({
          architectures: fn.before?.architectures,
        });
        deploy.apply(plan);
      }
    },
    TIMEOUT,
  );
});

describe("with an existing GitHub OIDC provider", () => {
  const EXISTING = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
  const providers = (addresses: string[]) =>
    addresses.filter((a) => a.startsWith("aws_iam_openid_connect_provider."));

  it(
    "with one passed in: never creates one, and a destroy never deletes it",
    async () => {
      const context = { githubRepository: "acme/thumbnailer", githubOidcProviderArn: EXISTING };
      const infra = synth(context);
      const deploy = await offlineDeploy(cli, infra.stacks.dependencies);
      deploys.push(deploy);
      const first = await deploy.plan(infra.stacks.dependencies);
      expect(providers(created(first))).toEqual([]);
      const trust = changeOf(first, "aws_iam_role.deploy-role").after?.assume_role_policy;
      expect(trust === undefined || String(trust).includes(EXISTING)).toBe(true);
      deploy.apply(first);

      const destroy = await deploy.plan(infra.stacks.dependencies, { destroy: true });
      expect(deleted(destroy)).toContain("aws_iam_role.deploy-role");
      expect(providers(deleted(destroy))).toEqual([]);
    },
    TIMEOUT,
  );
});
