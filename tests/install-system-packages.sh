#!/bin/sh
# The system tools the tests run, installed with apt-get when one is missing
# (as root on a Debian-family system; README's test command runs this);
# chromium is the browser tests/test_docs.py opens the docs in; nft (nftables)
# gives the multihop tests' entry relay its NAT; openssl makes the netstack
# tests' test CA, setpriv runs their client unprivileged.
# Elsewhere it only says what is missing: the tests that need it then skip,
# naming it (and fail under CI=true).
set -eu
missing=""
for tool_package in ip:iproute2 ping:iputils-ping wg:wireguard-tools wg-quick:wireguard-tools \
                    wireguard-go:wireguard-go iperf3:iperf3 chromium:chromium nft:nftables \
                    openssl:openssl setpriv:util-linux; do
    package=${tool_package#*:}
    case "$missing " in *" $package "*) continue ;; esac
    command -v "${tool_package%%:*}" >/dev/null 2>&1 || missing="$missing $package"
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-packages: not root with apt-get; the tests needing these skip:$missing" >&2
    exit 0
fi
echo "install-system-packages: apt-get install$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing >/dev/null
