/**
 * scripts/migrate-state.sh with the real Terraform CLI (integration, offline; npm run test:infra):
 * the copy `terraform init -migrate-state -force-copy` makes is Terraform's own. There is no S3
 * here, so the stand-in synth's "bucket" backend is a local file under s3/<bucket>/<key>: the
 * migration is a backend change between two local paths, which runs the same init sequence. The
 * state bucket's SDK calls are answered by the SDK stand-in, its HeadObject from that file.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runScript, scratchProject } from "./support/fake-tools";
import { ACCOUNT, rules } from "./support/script-rules";
import { sdkStandIn } from "./support/sdk-stand-in";
import { newStateBucket } from "./support/state-bucket-answers";

const BUCKET = `thumbnailer-tfstate-${ACCOUNT}-eu-west-1`;
const STACKS = ["dependencies", "lambda"];
/** The real terraform, found before the recording stand-in goes first on PATH. */
const TERRAFORM = execFileSync("bash", ["-c", "command -v terraform"], { encoding: "utf8" }).trim();

/** A stack with one builtin resource (no provider to download) and an output, at `backend`. */
const stackJson = (backend: string) =>
  JSON.stringify({
    terraform: { backend: { local: { path: backend } } },
    resource: { terraform_data: { marker: { input: "kept" } } },
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Terraform's interpolation
    output: { marker: { value: "${terraform_data.marker.output}" } },
  });

/**
 * Rules: `cdktf synth` writes each stack with a local backend, the project's state file, or the
 * stand-in bucket's object when THUMBNAILER_STATE_BUCKET is set; `terraform -chdir=...` is the
 * real one, and after -migrate-state the object it wrote is what HeadObject finds from then on.
 */
const REAL_TERRAFORM_ARMS = `
    "npx cdktf synth"*)
      for stack in ${STACKS.join(" ")}; do
        mkdir -p "cdktf.out/stacks/$stack"
        if [ -n "\${THUMBNAILER_STATE_BUCKET:-}" ]; then
          path="$PWD/s3/$THUMBNAILER_STATE_BUCKET/thumbnailer/eu-west-1/$stack.tfstate"
        else
          path="$PWD/terraform.thumbnailer-eu-west-1-$stack.tfstate"
        fi
        node -e 'process.stdout.write(process.argv[1].replace("BACKEND", process.argv[2]))' \\
          '${stackJson("BACKEND")}' "$path" >"cdktf.out/stacks/$stack/cdk.tf.json"
      done ;;
    "terraform -chdir="*)
      "$REAL_TERRAFORM" "$@" || return $?
      stack="\${1#-chdir=cdktf.out/stacks/}"
      key="thumbnailer/eu-west-1/$stack.tfstate"
      if [[ "$*" == *-migrate-state* ]] && [ -s "s3/$STAND_IN_BUCKET/$key" ]; then
        node -e '
          const fs = require("node:fs");
          const scenario = JSON.parse(fs.readFileSync(process.env.SDK_STAND_IN, "utf8"));
          const found = { when: { Key: process.argv[1] }, output: { ContentLength: 1 } };
          scenario.answers["S3.HeadObject"] = [found, ...[].concat(scenario.answers["S3.HeadObject"] ?? [])];
          fs.writeFileSync(process.env.SDK_STAND_IN, JSON.stringify(scenario));
        ' "$key"
      fi ;;`;

test("migrate-state.sh moves real Terraform state from a fresh checkout: same lineage and serial, no changes planned after", () => {
  // Arrange: a deployment applied with local state, then cdktf.out deleted (a fresh clone)
  const project = scratchProject({ region: "eu-west-1" });
  const sdk = sdkStandIn(newStateBucket({ "S3.HeadObject": { error: "NotFound", status: 404 } }));
  const local = (stack: string) =>
    join(project.dir, `terraform.thumbnailer-eu-west-1-${stack}.tfstate`);
  const object = (stack: string) =>
    join(project.dir, "s3", BUCKET, "thumbnailer", "eu-west-1", `${stack}.tfstate`);
  const tf = (dir: string, args: string[]) =>
    execFileSync(TERRAFORM, [`-chdir=${dir}`, ...args, "-input=false", "-no-color"], {
      encoding: "utf8",
      env: { ...process.env, TF_IN_AUTOMATION: "1" },
    });
  try {
    for (const stack of STACKS) {
      const dir = join(project.dir, "cdktf.out", "stacks", stack);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "cdk.tf.json"), stackJson(local(stack)));
      tf(dir, ["init"]);
      tf(dir, ["apply", "-auto-approve"]);
    }
    const before = Object.fromEntries(
      STACKS.map((s) => [s, JSON.parse(readFileSync(local(s), "utf8"))]),
    );
    rmSync(join(project.dir, "cdktf.out"), { recursive: true });

    // Act
    const result = runScript("migrate-state.sh", [], {
      project: project.dir,
      rules: rules(REAL_TERRAFORM_ARMS),
      env: {
        ...sdk.env,
        REAL_TERRAFORM: TERRAFORM,
        STAND_IN_BUCKET: BUCKET,
        TF_IN_AUTOMATION: "1",
      },
    });

    // Assert
    expect(result.stderr).not.toMatch(/error:/);
    expect(result.status).toBe(0);
    for (const stack of STACKS) {
      const copied = JSON.parse(readFileSync(object(stack), "utf8"));
      expect([copied.lineage, copied.serial]).toEqual([
        before[stack].lineage,
        before[stack].serial,
      ]);
      expect(copied.resources.map((r: { type: string }) => r.type)).toEqual(["terraform_data"]);
      expect(existsSync(local(stack))).toBe(false);
      expect(JSON.parse(readFileSync(`${local(stack)}.migrated`, "utf8"))).toEqual(before[stack]);
      // The stack now plans against the copy: nothing to change
      const dir = join(project.dir, "cdktf.out", "stacks", stack);
      expect(tf(dir, ["plan"])).toContain("No changes.");
    }
    expect(project.context()).toMatchObject({ stateBucket: BUCKET });
  } finally {
    sdk.cleanup();
    project.cleanup();
  }
});
