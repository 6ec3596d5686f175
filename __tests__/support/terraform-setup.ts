/**
 * Global setup of `npm run test:infra` (jest.infra.config.js): builds dist/ once (the scripts the
 * sequences run call it), and runs the run's one `terraform init`, for the providers the
 * synthesized stacks require, which every Terraform test of the run uses (support/terraform.ts).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDist } from "./build-dist";
import { synthInfra } from "./infra";
import { initTerraform } from "./terraform";

export default async function setup(): Promise<void> {
  buildDist();
  const infra = synthInfra();
  try {
    const dir = mkdtempSync(join(tmpdir(), "thumbnailer-terraform-init-"));
    const cli = await initTerraform(dir, [
      infra.stacks.dependencies.json,
      infra.stacks.lambda.json,
    ]);
    console.log(
      `\nterraform init once in ${dir}; provider ${cli.mirror === undefined ? "downloaded from the registry" : `from the mirror ${cli.mirror}`}`,
    );
  } finally {
    infra.cleanup();
  }
}
