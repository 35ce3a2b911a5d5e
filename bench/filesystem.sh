#!/usr/bin/env bash
# File system workloads on a volumed mount, a juicefs mount over the same SeaweedFS S3
# server (started for the run), and local disk; prints one table.
# FSBENCH_MIB (default 512) and FSBENCH_FILES (default 2000) size the runs.
exec bash "$(dirname "$0")/with-services.sh" fsbench
