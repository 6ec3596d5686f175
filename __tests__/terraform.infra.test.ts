/**
 * Integration test with the real Terraform CLI (npm run test:infra): `terraform validate` and an
 * offline `terraform plan` of both synthesized stacks, every option on, on the run's one
 * terraform init. The Lambda stack's cross-stack inputs come from a state file shaped like the
 * one the dependencies stack's apply would write.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type SynthedInfra, synthInfra, type TerraformJson } from "./support/infra";
import {
  dependenciesState,
  planSummary,
  type TerraformCli,
  terraformCli,
  writeOfflineOverride,
} from "./support/terraform";

const CONTEXT = {
  region: "eu-west-1",
  name: "thumbs-plan",
  githubRepository: "acme/thumbnailer",
  alarmEmail: "ops@example.com",
  reservedConcurrency: 5,
  notificationPrefix: "uploads/",
};

function resourceCount(json: TerraformJson): number {
  return Object.values(json.resource ?? {}).reduce(
    (sum, byName) => sum + Object.keys(byName).length,
    0,
  );
}

describe("terraform validate and plan of both stacks (integration: real Terraform CLI)", () => {
  let infra: SynthedInfra;
  let cli: TerraformCli;

  beforeAll(async () => {
    infra = synthInfra(CONTEXT);
    cli = terraformCli();
    const { dependencies, lambda } = infra.stacks;
    writeOfflineOverride(dependencies.dir);

    const remoteStatePath = join(infra.outdir, "dependencies-applied.tfstate");
    writeFileSync(remoteStatePath, dependenciesState(dependencies.json, CONTEXT.region));
    const remoteStates = Object.keys(lambda.json.data?.terraform_remote_state ?? {});
    writeOfflineOverride(lambda.dir, {
      data: {
        terraform_remote_state: Object.fromEntries(
          remoteStates.map((name) => [name, { config: { path: remoteStatePath } }]),
        ),
      },
    });
    for (const stack of [dependencies, lambda]) cli.useInit(stack.dir);
  }, 120_000);
  afterAll(() => infra?.cleanup());

  it.concurrent.each(["dependencies", "lambda"] as const)(
    "validates the %s stack",
    async (id) => {
      const output = await cli.run(infra.stacks[id].dir, ["validate", "-json"]);
      expect(JSON.parse(output)).toMatchObject({ valid: true, error_count: 0 });
    },
    120_000,
  );

  it.concurrent.each(["dependencies", "lambda"] as const)(
    "plans every resource of the %s stack for creation, offline",
    async (id) => {
      const stack = infra.stacks[id];
      const output = await cli.run(stack.dir, [
        "plan",
        "-input=false",
        "-lock=false",
        "-json",
        "-out=plan.bin",
      ]);
      const summary = planSummary(output);
      console.log(
        `${id}: plan ${summary.add} to add, ${summary.change} to change, ${summary.remove} to destroy`,
      );
      expect(summary).toMatchObject({ add: resourceCount(stack.json), change: 0, remove: 0 });
      expect(summary.add).toBeGreaterThan(10);
    },
    120_000,
  );
});
