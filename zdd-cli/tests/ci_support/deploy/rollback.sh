#!/bin/sh
# Stand-in for your rollback script: puts the previous version back on one droplet. The
# simulator's droplets start on v1.
set -eu
echo "rollback.sh: v1 -> droplet $ZDD_DROPLET_ID ($ZDD_DROPLET_NAME)"
exec zdd-do sim deploy --version v1
