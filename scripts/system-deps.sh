#!/usr/bin/env bash
# Install the Debian packages benchgui needs, when running as root and they are missing.
#   scripts/system-deps.sh run    what the GUI needs (Qt's xcb plugin libraries, fonts)
#   scripts/system-deps.sh test   plus what the tests need (Xvfb, InfluxDB 1.x, x11vnc, …)
# As a normal user it only prints the apt-get command to run.
set -euo pipefail

RUN_PKGS=(
  libxcb-cursor0 libxkbcommon0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-xfixes0
  libegl1 libgl1 libopengl0 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 fonts-dejavu-core
)
TEST_PKGS=(xvfb xauth x11vnc influxdb)
EXTRA_TEST_PKGS_FILE="$(dirname "$0")/system-deps-test.txt"  # added by later features

want=("${RUN_PKGS[@]}")
if [ "${1:-run}" = "test" ]; then
  want+=("${TEST_PKGS[@]}")
  if [ -f "$EXTRA_TEST_PKGS_FILE" ]; then
    while read -r pkg _; do [ -n "$pkg" ] && [ "${pkg:0:1}" != "#" ] && want+=("$pkg"); done < "$EXTRA_TEST_PKGS_FILE"
  fi
fi

command -v dpkg-query >/dev/null 2>&1 || { echo "system-deps: not a Debian system; install the Qt xcb libraries yourself" >&2; exit 0; }
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing Debian packages: ${missing[*]}" >&2
  echo "system-deps: install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# the influxdb package tries to start its service; in containers without systemd that is refused, harmlessly
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
