#!/usr/bin/env bash
# The test command: install peers, build i2, run every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/check-warnings.sh   # a fresh build (and test build) must print zero warnings
swift build
swift test --disable-swift-testing   # XCTest only: its summary is the last line
