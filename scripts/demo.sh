#!/usr/bin/env bash
# Run a ferry server to try enrolment against: initialise a data directory once in
# .ferry-run/data (ignored by git), export its root certificate to .ferry-run/root.pem,
# print the commands to add a user and enrol, then run `ferryd serve` in the foreground on
# 127.0.0.1:4433 until Ctrl-C. Running it again reuses the data directory, its users and
# its certificates; `make clean` removes it.
#
#   scripts/demo.sh [path/to/ferryd [path/to/ferry]]   (default build/ferryd, build/ferry)
set -euo pipefail

cd "$(dirname "$0")/.."
ferryd="${1:-build/ferryd}"
ferry="${2:-build/ferry}"
run=.ferry-run
data=$run/data
listen=${FERRY_RUN_LISTEN:-127.0.0.1:4433}
for b in "$ferryd" "$ferry"; do
	[ -x "$b" ] || { echo "demo: $b not found; run 'make build' first" >&2; exit 1; }
done

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

mkdir -p "$run"
if [ -f "$data/ca.pem" ] && [ -f "$data/ferry.db" ]; then
	say "Reusing the data directory $data (rm -rf $run to start afresh)"
else
	say "Initialising the data directory $data"
	# What init made; its "Next:" hints are replaced by the demo's own below.
	"$ferryd" init --data "$data" --name "Ferry Demo" | sed '/^Next:/,$d'
fi
"$ferryd" ca export --data "$data" >"$run/root.pem.tmp"
mv "$run/root.pem.tmp" "$run/root.pem"

say "In another terminal, from $(pwd)"
cat <<EOT
  $ferryd user add alice --data $data      # asks for a password twice
  $ferry enroll --server $listen --ca $run/root.pem --user alice
  $ferry whoami --check                    # the server accepts the certificate
  $ferry put README.md                     # stored encrypted; ls --long shows its SHA-256
  $ferry ls --long
  $ferry get -o /tmp/README.copy README.md # verified before it appears
  $ferryd user list --data $data
  $ferryd cert revoke alice --data $data   # the next session is refused

  (The profile goes to ~/.config/ferry; put FERRY_HOME=$run/alice before
  $ferry to keep the demo's profile inside $run instead.)
EOT

say "Serving on $listen (Ctrl-C stops)"
exec "$ferryd" serve --data "$data" --listen "$listen"
