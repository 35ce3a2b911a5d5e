#!/usr/bin/env bash
# Versions at scale on a SeaweedFS S3 server started for the run: index size, what a commit of
# one change uploads and costs, a cold read-only mount's first stat, what N+1 fetches after N,
# and peak memory, for volumes of 10k, 100k and 1M files. VOLUMEBENCH_FILES sets the sizes,
# VOLUMEBENCH_ENGINE=redis the metadata engine (default sqlite).
exec bash "$(dirname "$0")/with-services.sh" volumebench
