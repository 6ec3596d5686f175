/**
 * Global setup of `npm test` (jest.config.js) and `npm run test:system`: builds dist/ once for
 * the run (what the tests run as child processes), and puts the stand-in no-terraform/terraform
 * first on PATH for every test, so cdktf's synth gets its `terraform version` answer and a test
 * that would run real Terraform fails, here and on a machine with Terraform alike: those tests
 * are `*.infra.test.ts`, run by `npm run test:infra`, and `npm test` needs only `npm ci`.
 */
import { delimiter, join } from "node:path";
import { buildDist } from "./build-dist";

export default function setup(): void {
  buildDist();
  process.env.PATH = `${join(__dirname, "no-terraform")}${delimiter}${process.env.PATH ?? ""}`;
}
