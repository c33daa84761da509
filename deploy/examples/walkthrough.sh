#!/usr/bin/env bash
# Registers a network agent (notify), opens a call, takes in a company and a creative, forms a
# team and accepts it (intake).
# Usage: deploy/examples/walkthrough.sh [intake base URL] [API key file] [notify base URL]
set -euo pipefail
BASE=${1:-http://127.0.0.1:8001}/api/v1
KEY=$(cat "${2:-var/admin-api-key.txt}")
NOTIFY=${3:-http://127.0.0.1:8004}/api/v1
post() { curl -sS --fail-with-body -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$BASE$1" -d "$2"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

curl -sS --fail-with-body -X PUT -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  "$NOTIFY/agents/agent-anna" -d '{"name": "Anna Berger", "salutation": "Frau",
  "email": "anna.berger@example.org"}' >/dev/null

CALL=$(post /calls '{"title": "CIMIS II", "districts": ["Erzgebirgskreis", "Chemnitz"],
  "opens_at": "2024-06-01", "closes_at": "2030-09-20",
  "total_budget": "500000.00", "max_team_budget": "50000.00"}' | field id)
COMPANY=$(post /applications '{"call_id": "'"$CALL"'", "kind": "company",
  "name": "Holzwerk Annaberg GmbH", "contact_email": "info@holzwerk.example",
  "district": "Erzgebirgskreis", "employees": 35, "annual_turnover": "4200000.00",
  "de_minimis_prior_aid": "0.00", "challenge": "Online-Konfigurator für Möbel",
  "undertaking_id": "DE136695976"}' | field id)
CREATIVE=$(post /applications '{"call_id": "'"$CALL"'", "kind": "creative",
  "name": "Mia Krause", "contact_email": "mia@example.org", "district": "Chemnitz",
  "expertise": "UX- und Service-Design"}' | field id)
TEAM_BODY='{"call_id": "'"$CALL"'", "title": "Möbel-Konfigurator",
  "challenge": "Online-Konfigurator", "company_application_id": "'"$COMPANY"'",
  "creative_application_ids": ["'"$CREATIVE"'"], "agent_id": "agent-anna",
  "budget": "45000.00"}'
# Intake hears of the agent from notify's events a moment after the registration.
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if TEAM=$(post /teams "$TEAM_BODY" 2>/dev/null | field id 2>/dev/null); then break; fi
  sleep 1
done
[[ -n ${TEAM:-} ]] || { post /teams "$TEAM_BODY"; exit 1; }
post "/teams/$TEAM/accept" '' | python3 -m json.tool
