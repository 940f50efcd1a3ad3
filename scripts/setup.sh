#!/usr/bin/env bash
# Installs what maand's tests and demo need on a Debian machine (run as root):
# OpenSSH server and client, rsync, make, python3, sudo (the local sshd fleet of spec 12),
# a non-root sudo user for its sudo test, and Prometheus (server and promtool) for the
# monitoring tests.
set -euo pipefail
need=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v make >/dev/null 2>&1 || need+=(make)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v sudo >/dev/null 2>&1 || need+=(sudo)
command -v flock >/dev/null 2>&1 || need+=(util-linux)
# The Prometheus integration is tested against the real server and promtool (spec 11).
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p /run/sshd
# A non-root login for the sudo test of spec 12 (maand-transport's fleet tests): passwordless
# sudo, no password ('*', not locked, so sshd accepts key logins). Only the test fleet's sshd
# holds a key for it; the system's sshd has none.
if [ "$(id -u)" -eq 0 ] && ! id maand-sudo >/dev/null 2>&1; then
  useradd -m -s /bin/bash maand-sudo
  usermod -p '*' maand-sudo
  echo 'maand-sudo ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/maand-sudo
  chmod 0440 /etc/sudoers.d/maand-sudo
fi
# Bun runs .ts/.js hooks; optional (its tests skip without it), installed from npm when possible.
if ! command -v bun >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  npm install -g bun >/dev/null 2>&1 || echo "setup: bun not installed (Bun hook tests will be skipped)" >&2
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install the Rust toolchain (rustup) first" >&2
  exit 1
fi
