#!/usr/bin/env bash
# Sequential write/read throughput of the chunk store alone on the file backend and on a
# SeaweedFS S3 server started for the run. CHUNKBENCH_MIB sets the file size (default 512).
exec bash "$(dirname "$0")/with-services.sh" chunkbench
