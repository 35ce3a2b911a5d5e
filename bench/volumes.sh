#!/usr/bin/env bash
# Lifecycle latencies (commit, commit after one change, fork, mount) and index sizes for
# volumes of 1k, 10k and 100k files on a SeaweedFS S3 server started for the run.
# VOLUMEBENCH_FILES sets the sizes (default 1000,10000,100000).
exec bash "$(dirname "$0")/with-services.sh" volumebench
