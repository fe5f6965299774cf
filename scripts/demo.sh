#!/usr/bin/env bash
# Set up, then show the main job on the bundled metadata snapshot, with no credentials and no
# network: the records generated from config/metadata-snapshot.json, octoDNS's validation of
# them, and octoDNS's plan against a local target (an empty directory standing in for Route53).
# Everything it writes goes to build/demo/; the committed zones/example.com.yaml is only checked.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
demo=build/demo
rm -rf "$demo"
mkdir -p "$demo"
step() { printf '\n== %s\n' "$*"; }

step "1. Generate: the Rancher environment in config/metadata-snapshot.json as octoDNS records"
octodns-rancher generate --config config/generator.yaml --zones-dir "$demo/zones" 2>&1 \
  | sed 's/^INFO octodns_rancher: /   /'
echo
python - "$demo/zones/example.com.yaml" <<'PY'
import sys

import yaml

for name, rec in yaml.safe_load(open(sys.argv[1])).items():
    values = ", ".join(map(str, rec.get("values", [rec.get("value")])))
    came = rec.get("octodns", {}).get("rancher", {})
    print(f"   {name:34} {rec['type']:5} {rec['ttl']:<4} {values:28} {came['stack']}/{came['service']}")
PY
echo "   (the file also names each record's Rancher service and uuid under octodns.rancher)"

step "2. Validate them with octoDNS (octodns-validate)"
octodns-rancher -q init --zone example.com --environment Production --provider yaml \
  --zones-dir "./$demo/zones" -o "$demo/octodns.yaml"
octodns-validate --config-file "$demo/octodns.yaml"
echo "   valid: every record of $demo/zones/example.com.yaml loads as an octoDNS record"

step "3. Plan: what octodns-sync would change in a local target ($demo/target, empty)"
OCTODNS_TARGET_DIR="$demo/target" python scripts/octodns_plan.py plan \
  --config-file "$demo/octodns.yaml" --output "$demo/plan.md" >/dev/null 2>"$demo/plan.log" \
  || { cat "$demo/plan.log" >&2; exit 2; }
sed -n '/^| Operation/,/^Summary:/p' "$demo/plan.md" | grep -v '^$' | sed 's/^/   /'
echo "   (each _owner TXT record marks a record as this environment's; see docs/operations.md)"
echo "   Apply it: OCTODNS_TARGET_DIR=$demo/target .venv/bin/octodns-sync --config-file $demo/octodns.yaml --doit"

step "4. The committed zones/example.com.yaml against the snapshot (generate --check)"
if octodns-rancher -q generate --config config/generator.yaml --check; then
  echo "   up to date"
else
  echo "   out of date: run  octodns-rancher generate --config config/generator.yaml"
fi
