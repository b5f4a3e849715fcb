#!/usr/bin/env bash
# Idempotent install of the benchmark peers: Nginx+Nchan (Debian) and
# uWebSockets via PyPI socketify in bench/peers/.venv. Installs only what is missing.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"

# --- Debian packages -------------------------------------------------------
missing=()
for p in nginx-light libnginx-mod-nchan libuv1; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Debian's own python3 needs python3-venv for `python3 -m venv` (pyenv's Python has it built in).
if [[ ! -x "$HERE/.venv/bin/python" ]] && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  missing+=(python3-venv)
fi
if ((${#missing[@]})); then
  echo "install.sh: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  # --no-install-recommends + policy-rc.d: we only want the binaries, not a running
  # system nginx on port 80 (the package's postinst would otherwise start it).
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install.sh: Debian packages present"
fi

# --- Python venv with socketify (uWebSockets) ------------------------------
VENV="$HERE/.venv"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "install.sh: creating venv $VENV"
  python3 -m venv "$VENV"
fi
want=(socketify==0.0.31 cffi)
if ! "$VENV/bin/python" -c 'import socketify, cffi' 2>/dev/null \
   || [[ "$("$VENV/bin/python" -m pip show socketify 2>/dev/null | sed -n 's/^Version: //p')" != 0.0.31 ]]; then
  echo "install.sh: pip installing ${want[*]}"
  "$VENV/bin/python" -m pip install -q "${want[@]}"
else
  echo "install.sh: venv packages present"
fi
