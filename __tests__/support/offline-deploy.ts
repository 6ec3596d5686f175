/**
 * Plays a stack's deploys offline with the real Terraform CLI: each `plan` plans a synthesized
 * stack against the state the previous `apply` left, and `apply` writes the state an apply of
 * that plan would leave, without calling AWS. Values only AWS knows (ARNs, IDs) become
 * placeholders of the right type, taken from the provider's own schema.
 *
 * One working folder per stack, initialised once: each plan copies the new cdk.tf.json into it.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SynthStack } from "./infra";
import { type TerraformCli, writeOfflineOverride } from "./terraform";

/** One resource's change in `terraform show -json` of a plan. */
export interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly name: string;
  readonly change: {
    readonly actions: string[];
    readonly before: Record<string, unknown> | null;
    readonly after: Record<string, unknown> | null;
    readonly after_unknown: Record<string, unknown>;
  };
}

interface PlannedResource {
  readonly address: string;
  readonly mode: string;
  readonly type: string;
  readonly name: string;
  readonly provider_name: string;
  readonly schema_version: number;
  readonly values: Record<string, unknown>;
}

export interface Plan {
  readonly resource_changes?: ResourceChange[];
  readonly planned_values?: { root_module?: { resources?: PlannedResource[] } };
}

type CtyType = string | [string, unknown];
interface Block {
  attributes?: Record<string, { type?: CtyType }>;
  block_types?: Record<string, { nesting_mode: string; block: Block }>;
}
type Schemas = Record<string, Block>;

export interface OfflineDeploy {
  /** Plans `stack` against the current state (no refresh, so no AWS calls). */
  plan(stack: SynthStack, options?: { destroy?: boolean }): Promise<Plan>;
  /** Writes the state an apply of `plan` would leave. */
  apply(plan: Plan): void;
  cleanup(): void;
}

/** A value of `type` for an attribute only AWS would know. */
function placeholder(type: CtyType | undefined, label: string): unknown {
  if (type === "string" || type === undefined) return `offline-${label}`;
  if (type === "number") return 0;
  if (type === "bool") return false;
  const [kind] = type;
  if (kind === "list" || kind === "set") return [];
  if (kind === "map") return {};
  return null;
}

/** `values` with every unknown (per `unknown`, as in after_unknown) replaced by a placeholder. */
function known(
  values: unknown,
  unknown: unknown,
  block: Block | undefined,
  label: string,
): unknown {
  if (Array.isArray(values) && Array.isArray(unknown)) {
    return values.map((v, i) => known(v, unknown[i], block, label));
  }
  if (typeof values !== "object" || values === null || typeof unknown !== "object" || !unknown) {
    return values;
  }
  const out: Record<string, unknown> = { ...(values as Record<string, unknown>) };
  for (const [key, isUnknown] of Object.entries(unknown as Record<string, unknown>)) {
    const nested = block?.block_types?.[key];
    if (isUnknown === true) {
      out[key] = nested
        ? nested.nesting_mode === "single"
          ? null
          : []
        : placeholder(block?.attributes?.[key]?.type, `${label}.${key}`);
    } else {
      out[key] = known(out[key], isUnknown, nested?.block ?? block, `${label}.${key}`);
    }
  }
  return out;
}

/** The cty type of a JSON value, as state files spell it. */
function ctyType(value: unknown): unknown {
  if (typeof value === "string") return "string";
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "bool";
  if (Array.isArray(value)) return ["tuple", value.map(ctyType)];
  if (value === null) return "dynamic";
  return [
    "object",
    Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, ctyType(v)])),
  ];
}

/** A resource's attributes as a state file holds them: dynamically-typed ones carry their type. */
function stateAttributes(values: unknown, block: Block | undefined): unknown {
  const out = { ...(values as Record<string, unknown>) };
  for (const [key, attribute] of Object.entries(block?.attributes ?? {})) {
    const value = out[key];
    if (attribute.type === "dynamic" && value !== null && value !== undefined) {
      out[key] = { value, type: ctyType(value) };
    }
  }
  return out;
}

export async function offlineDeploy(
  cli: TerraformCli,
  firstStack: SynthStack,
  override: Record<string, unknown> = {},
): Promise<OfflineDeploy> {
  const dir = mkdtempSync(join(tmpdir(), "thumbnailer-offline-deploy-"));
  const statePath = join(dir, "offline.tfstate");
  const useStack = (stack: SynthStack) =>
    copyFileSync(join(stack.dir, "cdk.tf.json"), join(dir, "cdk.tf.json"));
  useStack(firstStack);
  writeOfflineOverride(dir, {
    ...override,
    terraform: { backend: { local: { path: statePath } } },
  });
  await cli.run(dir, ["init", "-input=false"]);
  const providers = JSON.parse(await cli.run(dir, ["providers", "schema", "-json"])) as {
    provider_schemas: Record<string, { resource_schemas?: Record<string, { block: Block }> }>;
  };
  const schemas: Schemas = {};
  for (const provider of Object.values(providers.provider_schemas)) {
    for (const [type, schema] of Object.entries(provider.resource_schemas ?? {})) {
      schemas[type] = schema.block;
    }
  }
  let serial = 0;

  return {
    async plan(stack, options = {}) {
      useStack(stack);
      const args = ["plan", "-input=false", "-lock=false", "-refresh=false", "-out=plan.bin"];
      if (options.destroy) args.push("-destroy");
      await cli.run(dir, args);
      return JSON.parse(await cli.run(dir, ["show", "-json", "plan.bin"])) as Plan;
    },
    apply(plan) {
      const unknowns = new Map(
        (plan.resource_changes ?? []).map((c) => [c.address, c.change.after_unknown]),
      );
      const planned = (plan.planned_values?.root_module?.resources ?? []).filter(
        (r) => r.mode === "managed",
      );
      serial += 1;
      const state = {
        version: 4,
        terraform_version: "1.11.0",
        serial,
        lineage: "offline-deploy",
        outputs: {},
        resources: planned.map((r) => ({
          mode: "managed",
          type: r.type,
          name: r.name,
          provider: `provider["${r.provider_name}"]`,
          instances: [
            {
              schema_version: r.schema_version,
              attributes: stateAttributes(
                known(r.values, unknowns.get(r.address), schemas[r.type], r.address),
                schemas[r.type],
              ),
              sensitive_attributes: [],
            },
          ],
        })),
      };
      writeFileSync(statePath, JSON.stringify(state, null, 2));
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The change planned for the resource at `address`; fails if the plan has none. */
export function changeOf(plan: Plan, address: string): ResourceChange["change"] {
  const change = plan.resource_changes?.find((c) => c.address === address)?.change;
  if (!change) throw new Error(`the plan has no change for ${address}`);
  return change;
}

/** Addresses of the resources the plan will delete (destroy, or replace). */
export function deleted(plan: Plan): string[] {
  return (plan.resource_changes ?? [])
    .filter((c) => c.change.actions.includes("delete"))
    .map((c) => c.address);
}

/** Addresses of the resources the plan will create (create, or replace). */
export function created(plan: Plan): string[] {
  return (plan.resource_changes ?? [])
    .filter((c) => c.change.actions.includes("create"))
    .map((c) => c.address);
}
