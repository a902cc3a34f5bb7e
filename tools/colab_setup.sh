#!/usr/bin/env bash
# Colab: install the book's package with its pinned dependencies into the running runtime, and
# a RAR tool for the PH2 archive. Called by the setup cell of every chapter, after the clone.
# The data is not fetched here: each chapter fetches what it reads (enhance_utils.chapter_data).
set -euo pipefail
checkout="$(cd "$(dirname "$0")/.." && pwd)"
python3 -m pip install -q -e "${checkout}[book]"
if ! command -v bsdtar >/dev/null && ! command -v unrar >/dev/null; then
    apt-get -qq install -y libarchive-tools >/dev/null
fi
echo "enhance-utils installed from ${checkout}; if an import fails below, use"
echo "Runtime > Restart session, then run the notebook again (packages changed under the runtime)."
