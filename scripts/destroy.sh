#!/usr/bin/env bash
# Tears down the thumbnail pipeline and removes the GitHub settings bootstrap.sh created.
# See docs/ship.md.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/destroy.sh [--name NAME [--region REGION]] [--repo OWNER/NAME] [--yes] [--dry-run] [--help]

Destroys both stacks of the thumbnail pipeline, then deletes the GitHub repository variables
and secret that scripts/bootstrap.sh set, when they are this deployment's, so the deploy
workflow stops deploying.

It destroys the deployment cdktf.json "context" describes (what bootstrap.sh persisted), or
with --name (and --region) the one of that name (and region) made from this checkout, e.g. by
`THUMBNAILER_NAME=NAME npm run deploy`: cdktf.json's settings with that name. Any other
THUMBNAILER_* variable that differs from cdktf.json is refused, so nothing else is planned.

  1. Preflight: working AWS credentials (no AWS CLI needed), Node.js with dependencies installed, no
     THUMBNAILER_* variable disagreeing with cdktf.json (or --name/--region), and, when the
     deployment has a githubRepository, the GitHub CLI authenticated and the repository's
     variables read: the deploy settings are this deployment's when its LAMBDA_FUNCTION_NAME
     and AWS_REGION are unset or name this deployment's function and region; another
     deployment's are left alone.
  2. Unless forceDestroyBuckets is true and the deployed state records it on every bucket
     (Terraform deletes a bucket with the setting its state holds, so a forceDestroyBuckets
     not yet deployed does not count): npx cdktf synth, then every bucket the deployment
     has is checked for object versions and delete markers. If one holds any, it refuses
     before anything is changed, listing them and what to do (docs/deploy.md, Teardown).
  3. Confirmation: asks before destroying anything, unless --yes.
  4. npx cdktf destroy lambda: the function and its S3 notification go first, so nothing
     writes to the buckets any more.
  5. The buckets of step 2 checked again (an invocation still running may have written to
     one): if one holds data now, it stops there, the dependencies stack (buckets,
     repository, roles) untouched; empty it and run destroy.sh again.
  6. npx cdktf destroy dependencies.
  7. gh variable delete / gh secret delete for each setting bootstrap.sh made, in the
     deployment's githubRepository, when they are this deployment's.

Options:
  --name NAME        destroy the deployment of that name made from this checkout
  --region REGION    with --name: the region it was deployed to (default: cdktf.json's)
  --repo OWNER/NAME  must be the deployment's githubRepository (cdktf.json); the default
  --yes              do not ask for confirmation
  --dry-run          print every command it would run, and run none
  --help             show this help
EOF
}

GITHUB_REPO=""
CONFIRMED=0
NAME=""
REGION=""
parse_flags "--repo GITHUB_REPO OWNER/NAME" "--yes CONFIRMED=1" "--name NAME" \
  "--region REGION" -- "$@"
cd "$ROOT"
if [ -n "$REGION" ] && [ -z "$NAME" ]; then
  die "--region needs --name: without it destroy.sh destroys cdktf.json's deployment"
fi

# --name/--region pick the deployment: the variables they set are no override to refuse, but a
# THUMBNAILER_NAME/_REGION that says otherwise is.
given_overrides() (
  if [ -n "$NAME" ]; then unset THUMBNAILER_NAME; fi
  if [ -n "$REGION" ]; then unset THUMBNAILER_REGION; fi
  settings overrides
)
pick_deployment() {
  local flag variable value
  for flag in name region; do
    variable="THUMBNAILER_$(tr '[:lower:]' '[:upper:]' <<<"$flag")"
    value="$NAME"
    if [ "$flag" = region ]; then value="$REGION"; fi
    [ -n "$value" ] || continue
    if [ -n "${!variable:-}" ] && [ "${!variable}" != "$value" ]; then
      problem "$variable=${!variable} disagrees with --$flag $value: unset it"
    fi
    export "$variable=$value"
  done
}

# Lists each bucket of CHECKED (in $region); if one holds anything, stops with HEADLINE, the
# buckets, and what to do.
check_buckets_empty() {
  local headline="$1" held
  if [ "${#CHECKED[@]}" = 0 ]; then return 0; fi
  held="$(node_tool empty-buckets "$region" "${CHECKED[@]}")" ||
    die "see the error above; ${headline#*: }"
  if [ -z "$held" ]; then return 0; fi
  printf '\n%s These buckets still hold data:\n' "$headline" >&2
  while IFS= read -r line; do printf '  - %s\n' "$line"; done <<<"$held" >&2
  if [ "$force" = true ]; then
    cat >&2 <<'EOF'
forceDestroyBuckets is true in cdktf.json, but these buckets were deployed without it, and
Terraform deletes a bucket with the setting its state records: the destroy would fail on them
after deleting everything else. Run npm run deploy first (it records forceDestroyBuckets on the
buckets in place, replacing and deleting nothing), then scripts/destroy.sh.
EOF
    exit 1
  fi
  cat >&2 <<'EOF'
Either keep the data: copy what you need out first, then delete every object version and
delete marker (the console's "Empty bucket", or aws s3api delete-objects over
list-object-versions), and run scripts/destroy.sh again.
Or delete it with the stacks: set "forceDestroyBuckets": true in cdktf.json "context",
run npm run deploy (Terraform must record it), then scripts/destroy.sh.
EOF
  exit 1
}

step "Preflight checks"
AWS_ACCOUNT="<account>"
GITHUB_OWNED=1
if [ "$DRY_RUN" = 1 ]; then
  check_aws
  run node --version
  pick_deployment
  GITHUB_REPO="${GITHUB_REPO:-$(settings get githubRepository)}"
  if [ -n "$GITHUB_REPO" ]; then
    run gh auth status
    run gh variable list --repo "$GITHUB_REPO" --json name,value
  fi
else
  check_aws
  check_node
  overridden="$(given_overrides)"
  if [ -n "$overridden" ]; then
    while IFS= read -r line; do
      problem "$line: unset it (destroy.sh removes the deployment cdktf.json describes, or --name's), or persist it first with a deploy"
    done <<<"$overridden"
  fi
  pick_deployment
  persisted_repo="$(settings get githubRepository)"
  if [ -n "$GITHUB_REPO" ] && [ "$GITHUB_REPO" != "$persisted_repo" ]; then
    problem "--repo $GITHUB_REPO, but the deployment's githubRepository (cdktf.json) is '${persisted_repo}': drop --repo"
  fi
  GITHUB_REPO="$persisted_repo"
  if [ -n "$GITHUB_REPO" ]; then
    check_gh
    if [ "${#PROBLEMS[@]}" = 0 ]; then
      github_settings_owner destroy
      if [ "$GITHUB_OWNED" = 0 ]; then info "$FOREIGN_SETTINGS"; fi
    fi
  else
    info "deployed without a GitHub repository (no githubRepository in cdktf.json): no GitHub settings to remove"
  fi
  end_preflight
fi

# A refused destroy must not strip what it keeps: Terraform deletes the buckets' policies,
# public access blocks, versioning and lifecycle rules, the repository, queue and logs before it
# fails on a bucket that still holds objects. So look first, and change nothing if one does.
# Terraform deletes a bucket with the force_destroy its state records, not cdktf.json's: a
# forceDestroyBuckets set but not deployed yet does not count, and those buckets are checked too.
force="$(settings get forceDestroyBuckets)"
unrecorded=""
if [ "$force" = true ] && [ "$DRY_RUN" != 1 ]; then
  state="$(node_tool terraform-state dependencies)" || die "see the error above. Nothing was changed."
  unrecorded="$(node_tool state-buckets <<<"$state" | awk '$2 != "true" { print $1 }')"
fi
CHECKED=()
region=""
if [ "$force" = true ] && [ -z "$unrecorded" ]; then
  step "Buckets: forceDestroyBuckets is true, the destroy deletes them with every object"
else
  if [ "$force" = true ]; then
    step "Check the buckets deployed before forceDestroyBuckets was set are empty"
  else
    step "Check the buckets are empty (forceDestroyBuckets is off)"
  fi
  if [ "$DRY_RUN" = 1 ]; then
    run npx cdktf synth
    info "would list each bucket's object versions and delete markers, and again once the lambda stack is destroyed"
  else
    synth_planned_names "$AWS_ACCOUNT"
    region="$(planned region | head -n 1)"
    while IFS= read -r bucket; do
      [ -n "$bucket" ] || continue
      if [ "$force" = true ] && ! grep -qxF "$bucket" <<<"$unrecorded"; then
        info "s3://$bucket: forceDestroyBuckets is deployed on it, the destroy deletes its objects"
      else
        CHECKED+=("$bucket")
      fi
    done <<<"$(planned bucket)"
    check_buckets_empty "Refusing to destroy: nothing was changed."
  fi
fi

step "Confirm"
if [ "$DRY_RUN" = 1 ]; then
  info "dry run: would ask for confirmation unless --yes"
elif [ "$CONFIRMED" = 1 ]; then
  info "confirmed by --yes"
else
  printf '    Destroy the thumbnail pipeline in AWS account %s%s? [y/N] ' "$AWS_ACCOUNT" \
    "$([ "$GITHUB_OWNED" = 1 ] && printf '%s' "${GITHUB_REPO:+, and its deploy settings in $GITHUB_REPO}")" >&2
  answer=""
  read -r answer || true
  case "$answer" in
    y | Y | yes | YES | Yes) ;;
    *)
      info "not confirmed: aborted, nothing was destroyed"
      exit 1
      ;;
  esac
fi

# The function and its S3 notification first: once they are gone nothing writes to the buckets,
# so a retry cannot refill one between their last check and their delete.
step "Destroy the lambda stack (cdktf destroy lambda)"
run npx cdktf destroy lambda --auto-approve

if [ "${#CHECKED[@]}" -gt 0 ]; then
  step "Check the buckets are still empty, now that nothing writes to them"
  check_buckets_empty "Refusing to destroy the dependencies stack: the lambda stack is destroyed (nothing processes uploads any more), the dependencies stack (buckets, repository, roles) is unchanged."
fi

# The lambda stack, which depends on this one, is gone; its destroy just synthesized the app.
step "Destroy the dependencies stack (cdktf destroy dependencies)"
run npx cdktf destroy dependencies --auto-approve --ignore-missing-stack-dependencies --skip-synth

if [ -n "$GITHUB_REPO" ] && [ "$GITHUB_OWNED" = 1 ]; then
  step "Remove the deploy settings from $GITHUB_REPO"
  while read -r kind name <&3; do
    if ! run gh "$kind" delete "$name" --repo "$GITHUB_REPO"; then
      info "$kind $name was not set"
    fi
  done 3<<<"$(node_tool github-settings names)"
elif [ -n "$GITHUB_REPO" ]; then
  step "Keep the deploy settings of $GITHUB_REPO"
  info "$FOREIGN_SETTINGS"
fi

if [ "$DRY_RUN" = 1 ]; then
  step "Done (dry run: nothing was run)"
else
  step "Done"
  if [ -n "$GITHUB_REPO" ] && [ "$GITHUB_OWNED" = 1 ]; then
    info "The pipeline and its GitHub deploy settings are gone."
  else
    info "The pipeline is gone."
  fi
fi
