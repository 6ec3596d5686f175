/**
 * Runs the real Terraform CLI on synthesized stacks, offline when a provider mirror exists, for
 * `npm run test:infra` (jest.infra.config.js).
 *
 * The provider comes from a filesystem mirror when one is found (TF_PROVIDER_MIRROR, or the
 * well-known plugin folders Terraform itself searches, or a folder directly under /opt or
 * /usr/local/share holding registry.terraform.io/); otherwise Terraform downloads it as usual
 * (GitHub Actions). A private CLI config (TF_CLI_CONFIG_FILE) says so, and one plugin cache in
 * the temp folder is shared between runs so the 700 MB provider is unpacked once.
 *
 * Terraform is initialised once per run: the run's global setup (terraform-setup.ts) calls
 * initTerraform, which runs `terraform init` for the providers the stacks require in one folder
 * and saves the provider schemas; every working folder of the run plans with that folder's
 * `.terraform` (TF_DATA_DIR) and lock file. That works because every working folder declares the
 * same backend, a local state file at the relative path OFFLINE_STATE.
 */
import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { resources, type TerraformJson } from "./infra";

const run = promisify(execFile);

const PROVIDER = join("registry.terraform.io", "hashicorp", "aws");

/** Names the folder initTerraform prepared, for the test workers of the same run (not THUMBNAILER_*). */
const INIT_ENV = "JEST_TERRAFORM_INIT";

/** The backend state file of every working folder, relative to it (see above). */
export const OFFLINE_STATE = "offline.tfstate";

const LOCK_FILE = ".terraform.lock.hcl";
const SCHEMAS = "provider-schemas.json";

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
  /** Makes `dir` an initialised working folder (the run's one init: its lock file). */
  useInit(dir: string): void;
  /** `terraform providers schema -json` of the initialised providers. */
  schemas(): unknown;
}

/** The CLI config (mirror, plugin cache) and environment every terraform of a run uses. */
function terraformEnv(initDir: string): NodeJS.ProcessEnv {
  const pluginCache = join(tmpdir(), "thumbnailer-terraform-plugin-cache");
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    TF_CLI_CONFIG_FILE: join(initDir, "terraformrc"),
    TF_PLUGIN_CACHE_DIR: pluginCache,
    TF_DATA_DIR: join(initDir, ".terraform"),
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
    CHECKPOINT_DISABLE: "1",
    AWS_EC2_METADATA_DISABLED: "true",
  };
}

function cliFor(initDir: string, mirror: string | undefined): TerraformCli {
  const env = terraformEnv(initDir);
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
    useInit(dir) {
      copyFileSync(join(initDir, LOCK_FILE), join(dir, LOCK_FILE));
    },
    schemas: () => JSON.parse(readFileSync(join(initDir, SCHEMAS), "utf8")),
  };
}

/**
 * The run's one `terraform init` (called by the global setup): in `initDir`, for the providers
 * `stacks` require, with the backend every working folder declares; saves the provider schemas.
 * Later terraformCli() calls, in this process or the test workers it starts, use it.
 */
export async function initTerraform(
  initDir: string,
  stacks: TerraformJson[],
): Promise<TerraformCli> {
  const mirror = findProviderMirror();
  const env = terraformEnv(initDir);
  mkdirSync(String(env.TF_PLUGIN_CACHE_DIR), { recursive: true });
  const installation =
    mirror === undefined
      ? ""
      : [
          "provider_installation {",
          `  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n    include = ["registry.terraform.io/hashicorp/*"]\n  }`,
          '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }',
          "}",
        ].join("\n");
  writeFileSync(
    String(env.TF_CLI_CONFIG_FILE),
    // The init folder has no lock file yet, so let the cache serve it anyway.
    `plugin_cache_dir = ${JSON.stringify(env.TF_PLUGIN_CACHE_DIR)}\nplugin_cache_may_break_dependency_lock_file = true\n${installation}\n`,
  );
  const requiredProviders = Object.assign(
    // Used without being declared (terraform_data, terraform_remote_state): its schema is needed
    // too, for the state files offline-deploy.ts writes.
    { terraform: { source: "terraform.io/builtin/terraform" } },
    ...stacks.map(
      (stack) => (stack.terraform as { required_providers?: object }).required_providers,
    ),
  );
  writeFileSync(
    join(initDir, "main.tf.json"),
    JSON.stringify({
      terraform: {
        required_providers: requiredProviders,
        backend: { local: { path: OFFLINE_STATE } },
      },
    }),
  );
  const cli = cliFor(initDir, mirror);
  await cli.run(initDir, ["init", "-input=false"]);
  writeFileSync(join(initDir, SCHEMAS), await cli.run(initDir, ["providers", "schema", "-json"]));
  process.env[INIT_ENV] = initDir;
  return cli;
}

/** Removes the folder initTerraform prepared (the run's global teardown). */
export function removeTerraformInit(): void {
  const initDir = process.env[INIT_ENV];
  if (initDir !== undefined) rmSync(initDir, { recursive: true, force: true });
}

/** The runner every test of `npm run test:infra` uses: the run's one init (initTerraform). */
export function terraformCli(): TerraformCli {
  const initDir = process.env[INIT_ENV];
  if (initDir === undefined || !existsSync(join(initDir, SCHEMAS))) {
    throw new Error(
      "Terraform is not initialised for this run: run the Terraform tests with npm run test:infra " +
        "(jest.infra.config.js initialises it once, in its global setup)",
    );
  }
  return cliFor(initDir, findProviderMirror());
}

/**
 * Test-only provider settings: dummy credentials and no AWS calls for them, so plan runs offline,
 * and the backend every working folder of the run shares (a local OFFLINE_STATE in the folder).
 * Written as an override file next to cdk.tf.json. `endpoints` (optional) sends a service's calls
 * to a local stand-in (e.g. { ecr: url }).
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
    terraform: { backend: { local: { path: OFFLINE_STATE } } },
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
