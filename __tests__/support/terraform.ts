/**
 * Runs the real Terraform CLI on synthesized stacks, offline when a provider mirror exists.
 *
 * The provider comes from a filesystem mirror when one is found (TF_PROVIDER_MIRROR, or the
 * well-known plugin folders Terraform itself searches, or a folder directly under /opt or
 * /usr/local/share holding registry.terraform.io/); otherwise Terraform downloads it as usual
 * (GitHub Actions). A private CLI config (TF_CLI_CONFIG_FILE) says so, and one plugin cache in
 * the temp folder is shared between runs so the 700 MB provider is unpacked once.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { resources, type TerraformJson } from "./infra";

const run = promisify(execFile);

const PROVIDER = join("registry.terraform.io", "hashicorp", "aws");

function childFolders(root: string): string[] {
  try {
    return readdirSync(root).map((name) => join(root, name));
  } catch {
    return [];
  }
}

/** The filesystem mirror that holds hashicorp/aws, if there is one. */
export function findProviderMirror(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.TF_PROVIDER_MIRROR;
  if (configured !== undefined && configured !== "") {
    if (!existsSync(join(configured, PROVIDER))) {
      throw new Error(`TF_PROVIDER_MIRROR=${configured} holds no ${PROVIDER}`);
    }
    return configured;
  }
  const home = homedir();
  const candidates = [
    join(home, ".terraform.d", "plugins"),
    join(env.XDG_DATA_HOME ?? join(home, ".local", "share"), "terraform", "plugins"),
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
    ...childFolders("/opt"),
    ...childFolders("/usr/local/share"),
  ];
  return candidates.find((root) => existsSync(join(root, PROVIDER)));
}

export interface TerraformCli {
  /** The provider mirror in use, or undefined when Terraform downloads the provider. */
  readonly mirror: string | undefined;
  /** Runs terraform in `dir`; rejects with its output when it fails. */
  run(dir: string, args: string[]): Promise<string>;
}

/** Writes a CLI config into a temp folder and returns a runner that uses it. */
export function terraformCli(): TerraformCli {
  const mirror = findProviderMirror();
  const configDir = mkdtempSync(join(tmpdir(), "thumbnailer-tf-cli-"));
  const pluginCache = join(tmpdir(), "thumbnailer-terraform-plugin-cache");
  mkdirSync(pluginCache, { recursive: true });
  const installation =
    mirror === undefined
      ? ""
      : [
          "provider_installation {",
          `  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n    include = ["registry.terraform.io/hashicorp/*"]\n  }`,
          '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }',
          "}",
        ].join("\n");
  const cliConfig = join(configDir, "terraformrc");
  writeFileSync(
    cliConfig,
    // The synthesized stacks carry no lock file, so let the cache serve them anyway.
    `plugin_cache_dir = ${JSON.stringify(pluginCache)}\nplugin_cache_may_break_dependency_lock_file = true\n${installation}\n`,
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_PLUGIN_CACHE_DIR: pluginCache,
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
    CHECKPOINT_DISABLE: "1",
    AWS_EC2_METADATA_DISABLED: "true",
  };
  return {
    mirror,
    async run(dir, args) {
      try {
        const { stdout } = await run("terraform", [...args, "-no-color"], {
          cwd: dir,
          env,
          maxBuffer: 64 * 1024 * 1024,
          timeout: 240_000,
        });
        return stdout;
      } catch (error) {
        const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
        throw new Error(`terraform ${args.join(" ")} failed in ${dir}:\n${stderr}\n${stdout}`);
      }
    },
  };
}

/**
 * Test-only provider settings: dummy credentials and no AWS calls for them, so plan runs offline.
 * Written as an override file next to cdk.tf.json; `backend` (optional) replaces the stack's.
 * `endpoints` (optional) sends a service's calls to a local stand-in (e.g. { ecr: url }).
 */
export function writeOfflineOverride(
  dir: string,
  extra: Record<string, unknown> = {},
  endpoints?: Record<string, string>,
): void {
  const override = {
    provider: {
      aws: {
        access_key: "AKIATESTTESTTESTTEST",
        secret_key: "test-secret",
        skip_credentials_validation: true,
        skip_requesting_account_id: true,
        skip_metadata_api_check: true,
        skip_region_validation: true,
        ...(endpoints === undefined ? {} : { endpoints }),
      },
    },
    ...extra,
  };
  writeFileSync(join(dir, "offline_override.tf.json"), JSON.stringify(override, null, 2));
}

/** The `change_summary` of `terraform plan -json` output. */
export function planSummary(jsonLines: string): { add: number; change: number; remove: number } {
  for (const line of jsonLines.split("\n")) {
    if (!line.startsWith("{")) continue;
    const message = JSON.parse(line) as {
      type?: string;
      changes?: { add: number; change: number; remove: number };
    };
    if (message.type === "change_summary" && message.changes) return message.changes;
  }
  throw new Error(`no change_summary in plan output:\n${jsonLines}`);
}

/** The account ID the offline tests pretend to deploy to. */
export const TEST_ACCOUNT = "123456789012";

/** The value an apply of the dependencies stack would give the output expression `${type.name.attr}`. */
function outputValue(deps: TerraformJson, region: string, expression: string): string {
  const match = /^\$\{([\w-]+)\.([\w-]+)\.(\w+)\}$/.exec(expression);
  if (!match) throw new Error(`unexpected output expression ${expression}`);
  const [, type = "", name = "", attribute = ""] = match;
  const resource = resources(deps, type)[name] ?? {};
  const configured = (key: string) =>
    String(resource[key]).replace(
      /\$\{aws_ecr_repository\.repository\.registry_id\}/g,
      TEST_ACCOUNT,
    );
  const values: Record<string, Record<string, () => string>> = {
    aws_s3_bucket: {
      bucket: () => configured("bucket"),
      arn: () => `arn:aws:s3:::${configured("bucket")}`,
    },
    aws_ecr_repository: {
      registry_id: () => TEST_ACCOUNT,
      name: () => configured("name"),
      repository_url: () => `${TEST_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${configured("name")}`,
    },
    aws_iam_role: {
      name: () => configured("name"),
      arn: () => `arn:aws:iam::${TEST_ACCOUNT}:role/${configured("name")}`,
    },
    aws_sqs_queue: {
      name: () => configured("name"),
      arn: () => `arn:aws:sqs:${region}:${TEST_ACCOUNT}:${configured("name")}`,
      url: () => `https://sqs.${region}.amazonaws.com/${TEST_ACCOUNT}/${configured("name")}`,
    },
  };
  const value = values[type]?.[attribute];
  if (!value) throw new Error(`no test value for ${type}.${attribute}`);
  return value();
}

/**
 * A state file holding every output the dependencies stack declares, as its apply in account
 * TEST_ACCOUNT would write them: what the Lambda stack's cross-stack references read.
 */
export function dependenciesState(deps: TerraformJson, region: string): string {
  const outputs = Object.fromEntries(
    Object.entries(deps.output ?? {}).map(([name, { value }]) => [
      name,
      { value: outputValue(deps, region, String(value)), type: "string" },
    ]),
  );
  return JSON.stringify({
    version: 4,
    terraform_version: "1.11.0",
    serial: 1,
    lineage: "test",
    outputs,
    resources: [],
  });
}
