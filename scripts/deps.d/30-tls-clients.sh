#!/usr/bin/env bash
# The TLS stacks of the clients Nudge serves, for the tests that prove they
# accept the Passport certificate once its CA is trusted (core/passport):
# NSS's tools (certutil, vfychain, tstclnt — libpurple's stack), GnuTLS's
# client and OpenSSL's.
set -euo pipefail
source "$(dirname "$0")/00-lib.sh"
command -v certutil >/dev/null && command -v vfychain >/dev/null && command -v tstclnt >/dev/null || apt_install libnss3-tools
command -v gnutls-cli >/dev/null || apt_install gnutls-bin
command -v openssl >/dev/null || apt_install openssl
