/** Global teardown of `npm run test:infra`: removes the run's Terraform init (terraform-setup.ts). */
import { removeTerraformInit } from "./terraform";

export default function teardown(): void {
  removeTerraformInit();
}
