#!/usr/bin/env bash
# Opens a call, takes in a company and a creative, forms a team and accepts it, over the intake API.
# Usage: deploy/examples/walkthrough.sh [intake base URL] [API key file]
set -euo pipefail
BASE=${1:-http://127.0.0.1:8001}/api/v1
KEY=$(cat "${2:-var/admin-api-key.txt}")
post() { curl -sS --fail-with-body -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$BASE$1" -d "$2"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

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
TEAM=$(post /teams '{"call_id": "'"$CALL"'", "title": "Möbel-Konfigurator",
  "challenge": "Online-Konfigurator", "company_application_id": "'"$COMPANY"'",
  "creative_application_ids": ["'"$CREATIVE"'"], "agent_id": "agent-anna",
  "budget": "45000.00"}' | field id)
post "/teams/$TEAM/accept" '' | python3 -m json.tool
