#!/usr/bin/env bash
# Deploys the thumbnail pipeline to the AWS account of your current credentials and connects this
# GitHub repository's deploy workflow to it. See docs/ship.md.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/bootstrap.sh [--repo OWNER/NAME] [--yes] [--local-state] [--dry-run] [--help]

Deploys the thumbnail pipeline from an empty AWS account, then configures GitHub Actions:

  1. Preflight: working AWS credentials (no AWS CLI needed), Docker with buildx and a running engine,
     Terraform >= 1.10 (the S3 state lock file needs it), Node.js within package.json engines
     with dependencies installed (npm ci), the GitHub CLI authenticated, and the repository's
     deploy settings not another deployment's (its LAMBDA_FUNCTION_NAME and AWS_REGION variables
     unset or naming this deployment's function and region). Every problem is reported at once;
     nothing is created unless all checks pass.
  2. Persists the deployment's settings: every THUMBNAILER_* variable set now, and
     githubRepository, are written into cdktf.json "context" (commit it), so a later
     `npm run deploy`, `npx cdktf ...`, scripts/destroy.sh or CI plan the same resources.
     If the account already has GitHub's OIDC provider (an account has at most one) and this
     deployment's Terraform state does not hold it, its ARN is persisted as
     githubOidcProviderArn: the deploy then trusts it and never creates nor deletes it. It
     must accept the client ID sts.amazonaws.com, else bootstrap stops, saying how to add it.
     A setting a synth would refuse stops it here, before anything is written.
     Then, from the synthesized plan (ops/preflight.ts, which every `npm run deploy` runs too):
     with reservedConcurrency set, the account must keep its floor of Lambda executions
     unreserved; and no bucket, ECR repository, log group, IAM role, function, queue or alarm
     the deployment would create may exist unless its Terraform state holds it.
  3. The Terraform state bucket, unless --local-state: the persisted stateBucket is checked, or
     <name>-tfstate-<account>-<region> is created (or reused) versioned, encrypted, private and
     TLS-only; stateBucket and stateRegion are persisted in cdktf.json, so every later command
     keeps state there, locked (docs/deploy.md, Remote state). A deployment that still has local
     state files is refused: move them with scripts/migrate-state.sh.
     Then npx cdktf deploy '*': both stacks. The deploy builds and pushes the function's image
     (scripts/push-image.sh) and creates the role GitHub Actions assumes, trusted for this
     repository's main branch.
  4. GitHub repository variables AWS_REGION, ECR_REPOSITORY, LAMBDA_FUNCTION_NAME,
     LAMBDA_ARCHITECTURE, SOURCE_BUCKET, DEST_BUCKET and the secret AWS_DEPLOY_ROLE_ARN, which
     .github/workflows/deploy.yml reads.
  5. A summary with a first upload to try.

Settings (region, name, architecture, ...) come from THUMBNAILER_* environment variables or
cdktf.json "context" (docs/deploy.md); the variables of this run are persisted in step 2.

Options:
  --repo OWNER/NAME  GitHub repository to configure (default: THUMBNAILER_GITHUB_REPOSITORY or
                     cdktf.json githubRepository if set, else the one this checkout belongs to)
  --yes              approve the Terraform plans without asking (cdktf deploy --auto-approve)
  --local-state      keep Terraform state in local files at the project root (for a trial: lose
                     the checkout and the deployment can no longer be changed or destroyed)
  --dry-run          print every command it would run, and run none
  --help             show this help
EOF
}

GITHUB_REPO=""
AUTO_APPROVE=0
LOCAL_STATE=0
parse_flags "--repo GITHUB_REPO OWNER/NAME" "--yes AUTO_APPROVE=1" "--local-state LOCAL_STATE=1" -- "$@"
cd "$ROOT"

step "Preflight checks"
if [ "$DRY_RUN" = 1 ]; then
  check_aws
  run docker buildx version
  run docker info --format '{{.ServerVersion}}'
  run terraform version
  run node --version
  run gh auth status
  [ -n "$GITHUB_REPO" ] || run gh repo view --json nameWithOwner --jq .nameWithOwner
  GITHUB_REPO="${GITHUB_REPO:-<owner/name>}"
  run gh variable list --repo "$GITHUB_REPO" --json name,value
else
  check_aws
  check_docker_buildx
  check_terraform
  check_node
  check_configured_repo
  check_gh
  # Settings a synth would refuse: named now, before anything reads or writes them
  if ! THUMBNAILER_GITHUB_REPOSITORY="$GITHUB_REPO" node_tool preflight settings; then
    problem "fix the settings above (THUMBNAILER_* variables or cdktf.json context): nothing was written to cdktf.json"
  fi
  # The repository's deploy settings: never another deployment's to overwrite
  if [ "${#PROBLEMS[@]}" = 0 ]; then
    github_settings_owner bootstrap
    if [ "$GITHUB_OWNED" = 0 ]; then problem "$FOREIGN_SETTINGS"; fi
  fi
  end_preflight
fi

# Every later command (npm run deploy, npx cdktf ..., scripts/destroy.sh, CI's synth) must plan
# the same resources as this deploy: its settings go into cdktf.json before anything is created.
step "Persist this deployment's settings in cdktf.json"
if [ "$DRY_RUN" = 1 ]; then
  info "would write every THUMBNAILER_* setting and githubRepository=$GITHUB_REPO into cdktf.json context"
else
  settings persist "githubRepository=$GITHUB_REPO"
fi
reuse_github_oidc_provider
if [ "$DRY_RUN" = 0 ]; then info "commit cdktf.json: it now describes this deployment"; fi

# What the deploy would create, against the account: still nothing created if a check fails.
step "Check the account can take this deployment (concurrency quota, names already taken)"
if [ "$DRY_RUN" = 1 ]; then
  run npx cdktf synth
  info "would check the Lambda concurrency quota (if reservedConcurrency is set) and that no planned name exists unless the deployment's Terraform state holds it (ops/preflight.ts)"
else
  run npx cdktf synth >&2 || die "cdktf synth failed: see the errors above"
  node_tool preflight account "$ROOT/cdktf.out" || exit 1
fi

# The state outlives this checkout and is locked against two operators at once (ops/state-bucket.ts).
step "Create or reuse the state bucket"
if [ "$LOCAL_STATE" = 1 ]; then
  state_bucket="${THUMBNAILER_STATE_BUCKET:-$(settings get stateBucket)}"
  [ -z "$state_bucket" ] ||
    die "--local-state, but stateBucket is set to $state_bucket (cdktf.json context or THUMBNAILER_STATE_BUCKET): drop --local-state, the state is in that bucket"
  info "--local-state: Terraform state stays in local files at the project root (terraform.<name>-<region>-<stack>.tfstate); lose them and the deployment can no longer be changed or destroyed. scripts/migrate-state.sh moves them to a state bucket later"
elif [ "$DRY_RUN" = 1 ]; then
  info "would create or reuse the state bucket (the persisted stateBucket, else <name>-tfstate-<account>-<region>) and persist stateBucket and stateRegion in cdktf.json"
else
  ensured="$(node_tool state-bucket ensure)" ||
    die "no state bucket: see the error above (nothing was deployed; --local-state keeps state in local files)"
  read -r state_bucket state_region <<<"$ensured"
  settings persist "stateBucket=$state_bucket" "stateRegion=$state_region"
  info "Terraform state: s3://$state_bucket/ in $state_region, locked with an S3 lock file"
fi

step "Deploy both stacks (cdktf deploy; builds and pushes the image on the way)"
outputs="$(mktemp "${TMPDIR:-/tmp}/thumbnailer-outputs.XXXXXX")"
trap 'rm -f "$outputs"' EXIT
deploy=(npx cdktf deploy '*' --outputs-file "$outputs")
if [ "$AUTO_APPROVE" = 1 ]; then deploy+=(--auto-approve); fi
run "${deploy[@]}"

# Values for GitHub, by setting name (plain variables: macOS still ships bash 3.2).
set_value() { printf -v "VALUE_$1" '%s' "$2"; }
value() {
  local name="VALUE_$1"
  printf '%s' "${!name}"
}

step "Read the deployment's outputs"
settings_made="$(node_tool github-settings names)"
if [ "$DRY_RUN" = 1 ]; then
  while read -r _ name; do set_value "$name" "<$name>"; done <<<"$settings_made"
  set_value AWS_REGION "<region>"
else
  # The outputs' values, and AWS_REGION: the region of the ECR repository everything went to
  outputs_values="$(node_tool github-settings values "$outputs")" ||
    die "cannot read the deploy's outputs: see the error above"
  while read -r name setting_value; do
    set_value "$name" "$setting_value"
    info "$name=$setting_value"
  done <<<"$outputs_values"
fi

# The function's architecture (the image platform) and the prefix uploads must go under
# (ops/smoke-test.ts, lambda:GetFunctionConfiguration)
if [ "$DRY_RUN" = 1 ]; then
  info "would read $(value LAMBDA_FUNCTION_NAME)'s architecture and SOURCE_PREFIX (lambda:GetFunctionConfiguration)"
  function_settings=$'<x86_64|arm64>\t'
else
  function_settings="$(node_tool smoke-test function-settings "$(value LAMBDA_FUNCTION_NAME)" \
    "$(value AWS_REGION)")" || die "cannot read the function's configuration: see the error above"
fi
IFS=$'\t' read -r architecture source_prefix <<<"$function_settings"
set_value LAMBDA_ARCHITECTURE "$architecture"
info "LAMBDA_ARCHITECTURE=$architecture"

step "Configure GitHub Actions in $GITHUB_REPO"
while read -r kind name <&3; do
  run gh "$kind" set "$name" --repo "$GITHUB_REPO" --body "$(value "$name")"
done 3<<<"$settings_made"

if [ "$DRY_RUN" = 1 ]; then step "Done (dry run: nothing was run)"; else step "Done"; fi
cat >&2 <<EOF
    The pipeline is deployed in $(value AWS_REGION):
      upload images to   s3://$(value SOURCE_BUCKET)/${source_prefix}
      thumbnails land in s3://$(value DEST_BUCKET)/
      function           $(value LAMBDA_FUNCTION_NAME) ($(value LAMBDA_ARCHITECTURE))
    Each push to main that passes CI is now deployed (.github/workflows/deploy.yml).

    Try it:
      aws s3 cp photo.jpg s3://$(value SOURCE_BUCKET)/${source_prefix}photo.jpg --region $(value AWS_REGION)
      aws s3 ls s3://$(value DEST_BUCKET)/ --recursive --region $(value AWS_REGION)
    or check the whole pipeline end to end, as the deploy workflow does:
      scripts/smoke-test.sh --function-name $(value LAMBDA_FUNCTION_NAME) --region $(value AWS_REGION)
EOF
