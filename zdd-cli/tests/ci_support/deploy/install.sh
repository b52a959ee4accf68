#!/bin/sh
# Stand-in for your deploy script. zdd-do runs it for one droplet with ZDD_DROPLET_ID,
# ZDD_DROPLET_PUBLIC_IPV4, ZDD_DROPLET_PRIVATE_IPV4 and ZDD_VERSION set. Yours copies
# dist/app.tar.gz to the droplet and restarts the app; here the simulator's deploy hook
# restarts the simulated droplet with that version, once the build's artifact is checked.
set -eu
shipped=$(tar -xzOf dist/app.tar.gz VERSION)
if [ "$shipped" != "$ZDD_VERSION" ]; then
  echo "install.sh: dist/app.tar.gz holds version '$shipped', not '$ZDD_VERSION'" >&2
  exit 1
fi
echo "install.sh: $ZDD_VERSION -> droplet $ZDD_DROPLET_ID ($ZDD_DROPLET_NAME)"
exec zdd-do sim deploy
