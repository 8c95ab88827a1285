#!/usr/bin/env bash
# Installs a Debian package when a file it provides is missing, so that
# `make` needs nothing installed by hand on a Debian or Ubuntu machine.
#
#   hack/deb.sh FILE PACKAGE
set -euo pipefail
file=$1 pkg=$2
[ -e "$file" ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "hack/deb.sh: $file is missing; install the package that provides it ($pkg on Debian)" >&2
  exit 1
fi
sudo=
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "hack/deb.sh: $file is missing; run: apt-get install $pkg" >&2; exit 1; }
  sudo=sudo
fi
echo "==> installing $pkg (for $file)" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
[ -e "$file" ] || { echo "hack/deb.sh: $pkg did not provide $file" >&2; exit 1; }
