#!/usr/bin/env bash
# Colab (or any runtime to keep as it is): install the book's package from this checkout,
# adding only what the runtime lacks and leaving every installed package at its version, plus a
# RAR tool for the PH2 archive when it will be downloaded. Same as a chapter's setup cell, which
# calls enhance_utils.book.colab.install directly; the data is fetched by each chapter.
set -euo pipefail
checkout="$(cd "$(dirname "$0")/.." && pwd)"
cd "${checkout}"
exec python3 -m enhance_utils.book.colab "${checkout}"
