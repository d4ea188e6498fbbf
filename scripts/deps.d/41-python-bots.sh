#!/usr/bin/env bash
# needed to run
# The Python bot template (plugins/bots/py-hello): Debian's gRPC for Python
# its code generator, which the bot runs on bot.proto when it starts, and
# python3-cryptography for its TLS certificate.
# PyPI is not needed. Quick when all is there.
set -euo pipefail
source "$(dirname "$0")/00-lib.sh"

apt_install python3 python3-grpcio python3-grpc-tools python3-cryptography
