#!/usr/bin/env bash
# Wire Gmail push notifications and the scheduler jobs to a deployed stepback service:
#   - the Pub/Sub topic Gmail publishes to, with publish rights for Gmail's push account;
#   - a push subscription that POSTs to $SERVICE_URL/gmail/push with an OIDC token;
#   - Cloud Scheduler jobs that POST to /tasks/... with an OIDC token.
# Safe to run again: what exists is updated, not duplicated.
#
#   PROJECT_ID=my-project REGION=europe-west1 SERVICE_URL=https://stepback-xyz.a.run.app \
#     bash deploy/setup_pubsub.sh
#
# DRY_RUN=1 prints the gcloud commands instead of running them.
set -euo pipefail

: "${PROJECT_ID:?set PROJECT_ID to your Google Cloud project id}"
: "${REGION:?set REGION, e.g. europe-west1 (Cloud Scheduler needs a location)}"
: "${SERVICE_URL:?set SERVICE_URL to the Cloud Run service URL (https://...)}"
SERVICE_URL=${SERVICE_URL%/}
case "$SERVICE_URL" in
  https://*) ;;
  *) echo "SERVICE_URL must start with https://" >&2; exit 2 ;;
esac

TOPIC=${TOPIC:-stepback-gmail}
SUBSCRIPTION=${SUBSCRIPTION:-stepback-gmail-push}
PUSH_SA_NAME=${PUSH_SA_NAME:-stepback-pubsub-push}
SCHEDULER_SA_NAME=${SCHEDULER_SA_NAME:-stepback-scheduler}
PUSH_SA="$PUSH_SA_NAME@$PROJECT_ID.iam.gserviceaccount.com"
SCHEDULER_SA="$SCHEDULER_SA_NAME@$PROJECT_ID.iam.gserviceaccount.com"
GMAIL_PUBLISHER="serviceAccount:gmail-api-push@system.gserviceaccount.com"
SCHEDULE_TZ=${SCHEDULE_TZ:-Etc/UTC}

run() {
  if [ -n "${DRY_RUN:-}" ]; then
    printf '+'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}

# True when the resource exists (never in a dry run: then everything is "created").
exists() {
  [ -z "${DRY_RUN:-}" ] && "$@" >/dev/null 2>&1
}

project_number() {
  if [ -n "${DRY_RUN:-}" ]; then
    echo "PROJECT_NUMBER"
  else
    gcloud projects describe "$PROJECT_ID" --format='value(projectNumber)'
  fi
}

echo "== APIs"
run gcloud services enable pubsub.googleapis.com cloudscheduler.googleapis.com \
  gmail.googleapis.com iam.googleapis.com --project "$PROJECT_ID"

echo "== service accounts that sign the OIDC tokens"
for name in "$PUSH_SA_NAME" "$SCHEDULER_SA_NAME"; do
  if ! exists gcloud iam service-accounts describe "$name@$PROJECT_ID.iam.gserviceaccount.com" \
      --project "$PROJECT_ID"; then
    run gcloud iam service-accounts create "$name" --project "$PROJECT_ID" \
      --display-name "stepback: $name"
  fi
done
# Pub/Sub's own service agent mints the push subscription's tokens.
PUBSUB_AGENT="serviceAccount:service-$(project_number)@gcp-sa-pubsub.iam.gserviceaccount.com"
run gcloud iam service-accounts add-iam-policy-binding "$PUSH_SA" --project "$PROJECT_ID" \
  --member "$PUBSUB_AGENT" --role roles/iam.serviceAccountTokenCreator

echo "== topic $TOPIC (Gmail publishes here)"
if ! exists gcloud pubsub topics describe "$TOPIC" --project "$PROJECT_ID"; then
  run gcloud pubsub topics create "$TOPIC" --project "$PROJECT_ID"
fi
run gcloud pubsub topics add-iam-policy-binding "$TOPIC" --project "$PROJECT_ID" \
  --member "$GMAIL_PUBLISHER" --role roles/pubsub.publisher

echo "== push subscription $SUBSCRIPTION -> $SERVICE_URL/gmail/push"
push_flags=(
  --push-endpoint "$SERVICE_URL/gmail/push"
  --push-auth-service-account "$PUSH_SA"
  --push-auth-token-audience "$SERVICE_URL/gmail/push"
  --ack-deadline 30
  --min-retry-delay 10s
  --max-retry-delay 600s
)
if exists gcloud pubsub subscriptions describe "$SUBSCRIPTION" --project "$PROJECT_ID"; then
  run gcloud pubsub subscriptions update "$SUBSCRIPTION" --project "$PROJECT_ID" "${push_flags[@]}"
else
  run gcloud pubsub subscriptions create "$SUBSCRIPTION" --project "$PROJECT_ID" \
    --topic "$TOPIC" --message-retention-duration 1d "${push_flags[@]}"
fi

echo "== scheduler jobs (OIDC as $SCHEDULER_SA)"
job() {  # name, schedule, path
  local name=$1 schedule=$2 path=$3
  local flags=(
    --location "$REGION" --project "$PROJECT_ID"
    --schedule "$schedule" --time-zone "$SCHEDULE_TZ"
    --uri "$SERVICE_URL$path" --http-method POST
    --oidc-service-account-email "$SCHEDULER_SA"
    --oidc-token-audience "$SERVICE_URL$path"
    --attempt-deadline 300s
  )
  if exists gcloud scheduler jobs describe "$name" --location "$REGION" --project "$PROJECT_ID"; then
    run gcloud scheduler jobs update http "$name" "${flags[@]}"
  else
    run gcloud scheduler jobs create http "$name" "${flags[@]}"
  fi
}
# Watches last 7 days; each mailbox is renewed about daily, spread over hourly runs.
job stepback-renew-watches "17 * * * *" /tasks/renew-watches
job stepback-poll-quiet-mailboxes "*/15 * * * *" /tasks/poll-quiet-mailboxes
job stepback-due-getbacks "*/5 * * * *" /tasks/due-getbacks

cat <<EOF
== done. Give the service these settings (service.yaml already uses the same names):
STEPBACK_PUBSUB_TOPIC=projects/$PROJECT_ID/topics/$TOPIC
STEPBACK_PUBSUB_SERVICE_ACCOUNT=$PUSH_SA
STEPBACK_PUBSUB_AUDIENCE=$SERVICE_URL/gmail/push
STEPBACK_SCHEDULER_SERVICE_ACCOUNT=$SCHEDULER_SA
EOF
