#!/bin/sh
# The sandbox model-written code runs in (src/shlepa/evaluation/sandbox.py): Debian's
# bubblewrap. On Ubuntu 23.10+ (GitHub's ubuntu-24.04 runners) AppArmor forbids
# unprivileged user namespaces by default (kernel.apparmor_restrict_unprivileged_userns=1);
# rather than lifting that for every program, this installs a profile that allows
# them for /usr/bin/bwrap only. Ends with a smoke test: the same namespaces the
# code benchmarks use must work, or this fails.
set -eu

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

if ! command -v bwrap >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq bubblewrap >/dev/null
fi

restrict=/proc/sys/kernel/apparmor_restrict_unprivileged_userns
profile=/etc/apparmor.d/shlepa-bwrap
if [ -r "$restrict" ] && [ "$(cat "$restrict")" = 1 ] && [ ! -e "$profile" ]; then
  bwrap_path=$(command -v bwrap)
  printf '%s\n' \
    'abi <abi/4.0>,' \
    'include <tunables/global>' \
    "profile shlepa-bwrap $bwrap_path flags=(unconfined) {" \
    '  userns,' \
    '}' | $SUDO tee "$profile" >/dev/null
  $SUDO apparmor_parser -r "$profile"
fi

if ! bwrap --unshare-all --unshare-user --die-with-parent --ro-bind / / true; then
  echo "bubblewrap is installed but cannot create namespaces here; see SECURITY.md (code benchmarks)" >&2
  exit 1
fi
