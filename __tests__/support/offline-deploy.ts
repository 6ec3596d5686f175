/**
 * Plays a stack's deploys offline with the real Terraform CLI: each `plan` plans a synthesized
 * stack against the state the previous `apply` left, and `apply` writes the state an apply of
 * that plan would leave, without calling AWS. Values only AWS knows (ARNs, IDs) become
 * placeholders of the right type, taken from the provider's own schema; the account ID, which
 * names are built from, becomes TEST_ACCOUNT.
 *
 * A real apply learns those values resource by resource and uses them in the resources that
 * refer to them (a bucket named after the account). `apply` does the same: it evaluates the
 * configuration's plain references ("${type.name.attribute}" in a string) itself, and while an
 * attribute the configuration sets is still a placeholder (it comes through a data source or a
 * nested block), it plans the same stack again on the state it wrote and takes Terraform's
 * values. Such a round may change only those resources; a change to any other is a diff a real
 * redeploy would show too, and fails the apply. Attributes the stack ignores (ignore_changes)
 * keep their placeholder, as Terraform would never plan them.
 *
 * The ECR calls a plan makes (the Lambda stack's data.aws_ecr_image) go to a local stand-in
 * registry (support/fake-ecr.ts) holding the images the test pushes; nothing else is called.
 *
 * One working folder per deploy, on the run's one `terraform init` (support/terraform.ts): each plan
 * copies the new cdk.tf.json into it.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FakeEcr, startFakeEcr } from "./fake-ecr";
import type { SynthStack } from "./infra";
import { OFFLINE_STATE, TEST_ACCOUNT, type TerraformCli, writeOfflineOverride } from "./terraform";

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
  /** Left out when every attribute is unknown. */
  readonly values?: Record<string, unknown>;
}

export interface Plan {
  readonly resource_changes?: ResourceChange[];
  readonly planned_values?: { root_module?: { resources?: PlannedResource[] } };
  /** The configuration planned: which attributes each resource sets. */
  readonly configuration?: {
    root_module?: { resources?: { address: string; expressions?: Record<string, unknown> }[] };
  };
}

type CtyType = string | [string, unknown];
interface Block {
  attributes?: Record<string, { type?: CtyType }>;
  block_types?: Record<string, { nesting_mode: string; block: Block }>;
}
type Schemas = Record<string, Block>;

export interface OfflineDeploy {
  /** The stand-in ECR the plans read images from. */
  readonly registry: FakeEcr;
  /** Plans `stack` against the current state (no refresh, so no calls to AWS). */
  plan(stack: SynthStack, options?: { destroy?: boolean }): Promise<Plan>;
  /**
   * Writes the state an apply of `plan` would leave (planning its stack again while the apply
   * would still learn values, see above).
   */
  apply(plan: Plan): Promise<void>;
  /** The state file the last apply wrote (Terraform's JSON state format). */
  readonly statePath: string;
  cleanup(): Promise<void>;
}

/**
 * What AWS gives attributes whose generic placeholder would be wrong: the account ID (names are
 * built from it), and none for settings that only exist on other kinds of a resource (the
 * provider refuses a FIFO throughput scope on a standard topic).
 */
const AWS_VALUES: Readonly<Record<string, unknown>> = {
  registry_id: TEST_ACCOUNT,
  fifo_throughput_scope: "",
};

/** At most this many plans to learn what an apply would (a chain of references to unknowns). */
const MAX_SETTLE_ROUNDS = 5;

/** A value of `type` for an attribute only AWS would know. */
function placeholder(type: CtyType | undefined, label: string): unknown {
  const attribute = label.slice(label.lastIndexOf(".") + 1);
  if (attribute in AWS_VALUES) return AWS_VALUES[attribute];
  // An ARN must look like one: the provider checks the ARNs a resource refers to.
  if (type === "string" && (attribute === "arn" || attribute.endsWith("_arn"))) {
    const service = label.split("_")[1] ?? "aws";
    return `arn:aws:${service}::${TEST_ACCOUNT}:offline/${label}`;
  }
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

/** Whether any part of a value was unknown in its planned change (after_unknown). */
function hasUnknown(unknown: unknown): boolean {
  if (unknown === true) return true;
  if (typeof unknown !== "object" || unknown === null) return false;
  return Object.values(unknown).some(hasUnknown);
}

type Expressions = Record<string, { constant_value?: unknown } | undefined>;
const REFERENCE = /\$\{([a-z0-9_]+)\.([\w-]+)\.(\w+)\}/g;

/**
 * `template` (a string attribute of the configuration, e.g. "x-${aws_ecr_repository.r.registry_id}")
 * with its references to other resources' attributes replaced by their values in `values`, as
 * Terraform evaluates it once those are known; undefined if one of them is still `open` or
 * anything else (a function, a data source) is in it.
 */
function evaluate(
  template: string,
  values: Map<string, Record<string, unknown>>,
  open: Map<string, Set<string>>,
): string | undefined {
  const result = template.replace(REFERENCE, (whole, type, name, attribute) => {
    const address = `${type}.${name}`;
    if (open.get(address)?.has(attribute)) return whole;
    const value = values.get(address)?.[attribute];
    return typeof value === "string" || typeof value === "number" ? String(value) : whole;
  });
  return result.includes("${") ? undefined : result;
}

/** Addresses of the resources a plan changes (no-ops and data source reads left out). */
export function changed(plan: Plan): string[] {
  return (plan.resource_changes ?? [])
    .filter((c) => !c.change.actions.every((action) => action === "no-op" || action === "read"))
    .map((c) => c.address);
}

export async function offlineDeploy(
  cli: TerraformCli,
  firstStack: SynthStack,
  override: Record<string, unknown> = {},
): Promise<OfflineDeploy> {
  const dir = mkdtempSync(join(tmpdir(), "thumbnailer-offline-deploy-"));
  const statePath = join(dir, OFFLINE_STATE);
  const useStack = (stack: SynthStack) =>
    copyFileSync(join(stack.dir, "cdk.tf.json"), join(dir, "cdk.tf.json"));
  useStack(firstStack);
  const [providerConfig] = (firstStack.json.provider as { aws: { region: string }[] }).aws;
  const registry = await startFakeEcr(providerConfig?.region ?? "eu-west-1");
  writeOfflineOverride(dir, override, { ecr: registry.url });
  cli.useInit(dir);
  const providers = cli.schemas() as {
    provider_schemas: Record<string, { resource_schemas?: Record<string, { block: Block }> }>;
  };
  const schemas: Schemas = {};
  for (const provider of Object.values(providers.provider_schemas)) {
    for (const [type, schema] of Object.entries(provider.resource_schemas ?? {})) {
      schemas[type] = schema.block;
    }
  }
  let serial = 0;
  const planned = new WeakMap<Plan, { stack: SynthStack; destroy: boolean }>();

  async function plan(stack: SynthStack, options: { destroy?: boolean } = {}): Promise<Plan> {
    useStack(stack);
    const args = ["plan", "-input=false", "-lock=false", "-refresh=false", "-out=plan.bin"];
    if (options.destroy) args.push("-destroy");
    await cli.run(dir, args);
    const result = JSON.parse(await cli.run(dir, ["show", "-json", "plan.bin"])) as Plan;
    planned.set(result, { stack, destroy: options.destroy === true });
    return result;
  }

  /**
   * Writes the state `plan` of `stack` leaves. Returns the resources with an attribute the
   * configuration sets that is still a placeholder (it refers to a value only the apply learns,
   * through a data source or a nested block): what a real apply would have written differs.
   */
  function writeState(plan: Plan, stack: SynthStack): Set<string> {
    const unknowns = new Map(
      (plan.resource_changes ?? []).map((c) => [c.address, c.change.after_unknown]),
    );
    const expressions = new Map(
      (plan.configuration?.root_module?.resources ?? []).map((r) => [
        r.address,
        (r.expressions ?? {}) as Expressions,
      ]),
    );
    const resources = (plan.planned_values?.root_module?.resources ?? []).filter(
      (r) => r.mode === "managed",
    );
    const values = new Map(
      resources.map((r) => [
        r.address,
        known(r.values ?? {}, unknowns.get(r.address), schemas[r.type], r.address) as Record<
          string,
          unknown
        >,
      ]),
    );
    // Configured attributes that were unknown: those the apply can evaluate, and the rest.
    const open = new Map<string, Set<string>>();
    for (const r of resources) {
      const ignored = new Set(
        (stack.json.resource?.[r.type]?.[r.name]?.lifecycle as { ignore_changes?: string[] })
          ?.ignore_changes ?? [],
      );
      const keys = Object.entries(unknowns.get(r.address) ?? {})
        .filter(([key, unknown]) => hasUnknown(unknown) && !ignored.has(key))
        .map(([key]) => key)
        .filter((key) => expressions.get(r.address)?.[key] !== undefined);
      if (keys.length > 0) open.set(r.address, new Set(keys));
    }
    for (let progress = true; progress; ) {
      progress = false;
      for (const [address, keys] of open) {
        for (const key of keys) {
          const template = expressions.get(address)?.[key]?.constant_value;
          if (typeof template !== "string" || unknowns.get(address)?.[key] !== true) continue;
          const value = evaluate(template, values, open);
          if (value === undefined) continue;
          (values.get(address) as Record<string, unknown>)[key] = value;
          keys.delete(key);
          progress = true;
        }
        if (keys.size === 0) open.delete(address);
      }
    }
    serial += 1;
    const state = {
      version: 4,
      terraform_version: "1.11.0",
      serial,
      lineage: "offline-deploy",
      outputs: {},
      resources: resources.map((r) => ({
        mode: "managed",
        type: r.type,
        name: r.name,
        provider: `provider["${r.provider_name}"]`,
        instances: [
          {
            schema_version: r.schema_version,
            attributes: stateAttributes(values.get(r.address), schemas[r.type]),
            sensitive_attributes: [],
          },
        ],
      })),
    };
    writeFileSync(statePath, JSON.stringify(state, null, 2));
    return new Set(open.keys());
  }

  return {
    registry,
    statePath,
    plan,
    async apply(first) {
      const origin = planned.get(first);
      if (!origin) throw new Error("apply: not a plan of this deploy");
      let pending = writeState(first, origin.stack);
      if (origin.destroy) return;
      for (let round = 1; pending.size > 0; round += 1) {
        if (round > MAX_SETTLE_ROUNDS) {
          throw new Error(`apply: still placeholders after ${MAX_SETTLE_ROUNDS} plans`);
        }
        const next = await plan(origin.stack);
        const unexpected = changed(next).filter((address) => !pending.has(address));
        if (unexpected.length > 0) {
          throw new Error(
            `apply: planning the same stack again changes ${unexpected.join(", ")}, whose ` +
              "configuration was known when planned: a real redeploy would change it too",
          );
        }
        pending = writeState(next, origin.stack);
      }
    },
    async cleanup() {
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
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
