#!/usr/bin/env bash
# Tears down the thumbnail pipeline and removes the GitHub settings bootstrap.sh created.
# See docs/ship.md.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/destroy.sh [--repo OWNER/NAME] [--yes] [--dry-run] [--help]

Destroys both stacks of the thumbnail pipeline, then deletes the GitHub repository variables
and secret that scripts/bootstrap.sh set, so the deploy workflow stops deploying.

It destroys the deployment cdktf.json "context" describes (what bootstrap.sh persisted): a
THUMBNAILER_* variable that differs from it is refused, so nothing else is planned.

  1. Preflight: AWS CLI v2 with working credentials, Node.js with dependencies installed, no
     THUMBNAILER_* variable disagreeing with cdktf.json, and, when the deployment has a
     githubRepository, the GitHub CLI authenticated.
  2. Unless forceDestroyBuckets is true and the deployed state records it on every bucket
     (Terraform deletes a bucket with the setting its state holds, so a forceDestroyBuckets
     not yet deployed does not count): npx cdktf synth, then every bucket the deployment
     has is checked for object versions and delete markers. If one holds any, it refuses
     before anything is changed, listing them and what to do (docs/deploy.md, Teardown).
  3. Confirmation: asks before destroying anything, unless --yes.
  4. npx cdktf destroy '*'.
  5. gh variable delete / gh secret delete for each setting bootstrap.sh made, in the
     deployment's githubRepository (none when it was deployed without one).

Options:
  --repo OWNER/NAME  must be the deployment's githubRepository (cdktf.json); the default
  --yes              do not ask for confirmation
  --dry-run          print every command it would run, and run none
  --help             show this help
EOF
}

GITHUB_REPO=""
CONFIRMED=0
parse_flags "--repo GITHUB_REPO OWNER/NAME" "--yes CONFIRMED=1" -- "$@"
cd "$ROOT"

step "Preflight checks"
AWS_ACCOUNT="<account>"
if [ "$DRY_RUN" = 1 ]; then
  run aws --version
  run aws sts get-caller-identity --query Account --output text
  run node --version
  GITHUB_REPO="${GITHUB_REPO:-$(settings get githubRepository)}"
  if [ -n "$GITHUB_REPO" ]; then run gh auth status; fi
else
  check_aws
  check_node
  overridden="$(settings overrides)"
  if [ -n "$overridden" ]; then
    while IFS= read -r line; do
      problem "$line: unset it (destroy.sh removes the deployment cdktf.json describes), or persist it first with a deploy"
    done <<<"$overridden"
  fi
  persisted_repo="$(settings get githubRepository)"
  if [ -n "$GITHUB_REPO" ] && [ "$GITHUB_REPO" != "$persisted_repo" ]; then
    problem "--repo $GITHUB_REPO, but the deployment's githubRepository (cdktf.json) is '${persisted_repo}': drop --repo"
  fi
  GITHUB_REPO="$persisted_repo"
  if [ -n "$GITHUB_REPO" ]; then
    check_gh
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
  state="$(deployed_state dependencies)"
  unrecorded="$(node_tool state-buckets <<<"$state" | awk '$2 != "true" { print $1 }')"
fi
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
    info "would list each bucket's object versions and delete markers (aws s3api list-object-versions)"
  else
    synth_planned_names "$AWS_ACCOUNT"
    region="$(planned region | head -n 1)"
    held=()
    while IFS= read -r bucket; do
      [ -n "$bucket" ] || continue
      if [ "$force" = true ] && ! grep -qxF "$bucket" <<<"$unrecorded"; then
        info "s3://$bucket: forceDestroyBuckets is deployed on it, the destroy deletes its objects"
        continue
      fi
      errors="$(mktemp "${TMPDIR:-/tmp}/destroy.XXXXXX")"
      # One page of up to 1000 entries: enough to tell empty from not (the source is versioned,
      # so deleted objects leave versions and delete markers that still block the delete).
      # shellcheck disable=SC2016 # JMESPath literals, not shell
      if counts="$(aws s3api list-object-versions --bucket "$bucket" --region "$region" \
        --max-keys 1000 --no-paginate --output text \
        --query '[length(Versions || `[]`), length(DeleteMarkers || `[]`), IsTruncated]' 2>"$errors")"; then
        read -r versions markers truncated <<<"$counts"
        more=""
        if [ "$truncated" = True ]; then more="more than "; fi
        if [ "$versions" != 0 ] || [ "$markers" != 0 ]; then
          held+=("s3://$bucket holds $more$versions object versions and $markers delete markers")
        else
          info "s3://$bucket is empty"
        fi
      elif grep -q NoSuchBucket "$errors"; then
        info "s3://$bucket does not exist (already deleted)"
      else
        die "cannot tell whether s3://$bucket is empty: $(cat "$errors")
    Nothing was changed."
      fi
      rm -f "$errors"
    done <<<"$(planned bucket)"
    if [ "${#held[@]}" -gt 0 ]; then
      printf '\nRefusing to destroy: nothing was changed. These buckets still hold data:\n' >&2
      printf '  - %s\n' "${held[@]}" >&2
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
    fi
  fi
fi

step "Confirm"
if [ "$DRY_RUN" = 1 ]; then
  info "dry run: would ask for confirmation unless --yes"
elif [ "$CONFIRMED" = 1 ]; then
  info "confirmed by --yes"
else
  printf '    Destroy the thumbnail pipeline in AWS account %s%s? [y/N] ' "$AWS_ACCOUNT" \
    "${GITHUB_REPO:+, and its deploy settings in $GITHUB_REPO}" >&2
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

step "Destroy both stacks (cdktf destroy)"
run npx cdktf destroy '*' --auto-approve

if [ -n "$GITHUB_REPO" ]; then
  step "Remove the deploy settings from $GITHUB_REPO"
  for row in "${GITHUB_SETTINGS[@]}"; do
    read -r kind name _ <<<"$row"
    if ! run gh "$kind" delete "$name" --repo "$GITHUB_REPO"; then
      info "$kind $name was not set"
    fi
  done
fi

if [ "$DRY_RUN" = 1 ]; then
  step "Done (dry run: nothing was run)"
else
  step "Done"
  info "The pipeline and its GitHub deploy settings are gone."
fi
