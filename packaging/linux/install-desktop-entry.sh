#!/bin/sh
# Adds IDFSR Desktop to the applications menu of this user, from the folder this script
# is in (move the folder first: the entry points at it). `--remove` takes the entry out.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
entries="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
entry="$entries/idfsr-desktop.desktop"
if [ "${1:-}" = "--remove" ]; then
  rm -f "$entry"
  echo "removed $entry"
  exit 0
fi
mkdir -p "$entries"
sed "s|@APPDIR@|$here|g" "$here/idfsr-desktop.desktop" > "$entry"
echo "added $entry"
