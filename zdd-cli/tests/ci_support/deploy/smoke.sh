#!/bin/sh
# Stand-in for your smoke test. zdd-do runs it (--analysis-exec) when the canary's analysis
# window is over, with ZDD_CANARY_IDS, ZDD_CANARY_NAMES, ZDD_CANARY_PUBLIC_IPV4S and
# ZDD_CANARY_PRIVATE_IPV4S (comma-separated), ZDD_OLD_IDS, ZDD_LB_ID, ZDD_LB_NAME,
# ZDD_ANALYSIS_START and ZDD_ANALYSIS_END set: exit 0 passes the canary, any other status fails
# it. Yours runs your end-to-end checks against each canary; this one asks each canary's front
# page (not its health check) 100 times, directly on the app's port (APP_PORT, 80 by default),
# and fails on any answer that is not 2xx.
set -eu
port=${APP_PORT:-80}
n=100
[ -n "${ZDD_CANARY_PRIVATE_IPV4S:-}" ] || { echo "smoke.sh: no canary address given" >&2; exit 1; }
for ip in $(echo "$ZDD_CANARY_PRIVATE_IPV4S" | tr ',' ' '); do
  failed=0
  i=0
  while [ "$i" -lt "$n" ]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$ip:$port/") || true
    case "$code" in
      2??) ;;
      *) failed=$((failed + 1)) ;;
    esac
    i=$((i + 1))
  done
  echo "smoke.sh: $failed of $n requests to canary $ip failed"
  [ "$failed" -eq 0 ] || exit 1
done
