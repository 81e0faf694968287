#!/usr/bin/env bash
# System libraries Qt needs (offscreen tests, and a real window under Xvfb).
# Installs the missing ones with apt-get when we can (root on Debian/Ubuntu);
# otherwise names them and carries on: the offscreen tests need only the first few.
set -u
PKGS=(libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
      libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
      libxcb-shape0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1 xvfb xauth)
command -v dpkg-query >/dev/null 2>&1 || exit 0
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system libraries for Qt: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || echo "warning: could not install ${missing[*]}" >&2
else
  echo "note: these system packages are missing (install them for the GUI): ${missing[*]}" >&2
fi
exit 0
