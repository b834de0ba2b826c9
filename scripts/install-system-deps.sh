#!/usr/bin/env bash
# The system packages pfc-bench needs on a Debian/Ubuntu machine (run as root, or with sudo):
# the build (cmake, g++, OpenBLAS with OpenMP threading), real multi-process runs (OpenMPI),
# a single-node Slurm for the srun test (slurm-wlm: slurmctld, slurmd, srun and the PMIx
# plugin; munge for its authentication; started by scripts/slurm-local.sh, not as services),
# and the report tests (Chromium for the HTML page, DejaVu fonts for charts).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
  cmake make g++ pkg-config \
  libopenblas-openmp-dev libhwy-dev \
  libopenmpi-dev openmpi-bin \
  slurm-wlm munge \
  chromium fonts-dejavu-core \
  xz-utils git ca-certificates
