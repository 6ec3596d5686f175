# shellcheck shell=bash
# Preflight checks of the AWS account against what the deployment plans (synth_planned_names in
# common.sh): the Lambda concurrency quota, and names that already exist. Each failed check is a
# problem() saying what is wrong and how to fix it; end_preflight reports them before anything is
# created. Sourced after common.sh, not run.

# AWS keeps this many concurrent executions unreserved in every account and region.
LAMBDA_MIN_UNRESERVED=10

# Whether `aws ...` failed because the thing does not exist (its error output is in $1).
absent() { grep -qE '\((404|NoSuchEntity|RepositoryNotFoundException|ResourceNotFoundException)\)|Not Found' "$1"; }

# Runs an aws read; prints its output. Status 0: found, 1: absent, 3: forbidden (HTTP 403, e.g. a
# bucket of another account), 2: any other error (recorded as a problem naming what was read).
aws_read() {
  local what="$1" errors status=0 out
  shift
  errors="$(mktemp "${TMPDIR:-/tmp}/preflight.XXXXXX")"
  out="$(aws "$@" 2>"$errors")" || status=$?
  if [ "$status" = 0 ]; then
    printf '%s' "$out"
  elif absent "$errors"; then
    status=1
  elif grep -q '(403)' "$errors"; then
    status=3
  else
    problem "cannot check $what: $(tr '\n' ' ' <"$errors")(needs read access to it)"
    status=2
  fi
  rm -f "$errors"
  return "$status"
}

# reservedConcurrency must leave LAMBDA_MIN_UNRESERVED executions unreserved. The function's own
# current reservation (a redeploy) is already out of the unreserved pool: it is added back.
check_concurrency_quota() {
  local region="$1" fn reserved limits total unreserved current left
  read -r fn reserved <<<"$(awk '$1 == "reserved-concurrency" { print $2, $3 }' <<<"$PLANNED")"
  if [ -z "$reserved" ]; then return 0; fi
  limits="$(aws_read "the Lambda concurrency quota" lambda get-account-settings --region "$region" \
    --query '[AccountLimit.ConcurrentExecutions, AccountLimit.UnreservedConcurrentExecutions]' \
    --output text)" || return 0
  read -r total unreserved <<<"$limits"
  current="$(aws_read "function $fn's reserved concurrency" lambda get-function-concurrency \
    --function-name "$fn" --region "$region" --query ReservedConcurrentExecutions --output text)" ||
    current=0
  if [[ ! "$current" =~ ^[0-9]+$ ]]; then current=0; fi
  left=$((unreserved + current - reserved))
  if [ "$left" -lt "$LAMBDA_MIN_UNRESERVED" ]; then
    problem "reservedConcurrency $reserved would leave $left of the account's $total concurrent executions unreserved in $region; AWS keeps at least $LAMBDA_MIN_UNRESERVED unreserved ($unreserved are unreserved now${current:+, $current of them reserved by $fn}): unset reservedConcurrency (cdktf.json context or THUMBNAILER_RESERVED_CONCURRENCY), lower it to at most $((unreserved + current - LAMBDA_MIN_UNRESERVED)), or request a higher 'Concurrent executions' quota in Service Quotas (AWS Lambda) and retry once it is granted"
  else
    info "reservedConcurrency $reserved leaves $left of $total concurrent executions unreserved"
  fi
}

# Whether any stack of the deployment already has Terraform state (a local file or S3 object).
has_state() {
  local kind a b c
  while read -r kind a b c; do
    case "$kind" in
      state-local) if [ -s "$a" ]; then return 0; fi ;;
      state-s3) if aws_read "state s3://$a/$b" s3api head-object --bucket "$a" --key "$b" \
        --region "$c" >/dev/null; then return 0; fi ;;
    esac
  done <<<"$PLANNED"
  return 1
}

# Names the deployment would create that already exist. Only without state: with state, they
# are this deployment's own resources.
check_names_free() {
  local region="$1" name status fix
  fix="pick another \"name\" (cdktf.json context or THUMBNAILER_NAME), or, if it is this deployment's from a lost state, terraform import it or delete it"
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    status=0
    aws_read "bucket $name" s3api head-bucket --bucket "$name" --region "$region" >/dev/null || status=$?
    case "$status" in
      0) problem "bucket $name already exists in this account: $fix" ;;
      3) problem "bucket $name already exists and belongs to another account (403): bucket names are global, pick another \"name\" (cdktf.json context or THUMBNAILER_NAME)" ;;
    esac
  done <<<"$(planned bucket)"
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    if aws_read "ECR repository $name" ecr describe-repositories --repository-names "$name" \
      --region "$region" --query 'repositories[0].repositoryName' --output text >/dev/null; then
      problem "ECR repository $name already exists: $fix"
    fi
  done <<<"$(planned ecr-repository)"
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    if [ -n "$(aws_read "log group $name" logs describe-log-groups --log-group-name-prefix "$name" \
      --region "$region" --query "logGroups[?logGroupName=='$name'].logGroupName" --output text)" ]; then
      problem "log group $name already exists: $fix"
    fi
  done <<<"$(planned log-group)"
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    if aws_read "IAM role $name" iam get-role --role-name "$name" --query Role.RoleName \
      --output text >/dev/null; then
      problem "IAM role $name already exists: $fix"
    fi
  done <<<"$(planned role)"
}

# The account checks of what `cdktf deploy` would create; needs AWS_ACCOUNT (check_aws).
check_account() {
  synth_planned_names "$AWS_ACCOUNT"
  local region
  region="$(planned region | sed -n 1p)"
  check_concurrency_quota "$region"
  if has_state; then
    info "the deployment already has Terraform state: names are its own, not checked for collisions"
  else
    check_names_free "$region"
  fi
  end_preflight
}
