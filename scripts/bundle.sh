#!/usr/bin/env bash
# Makes a self-contained native bundle: the addon (pfc_core.node), the MPI plugin (pfc_mpi.so,
# optional: it loads only where libmpi is), and every library the addon needs at load time
# that is not part of glibc, libstdc++ or libgcc (OpenBLAS, libgfortran, libquadmath, libgomp),
# copied beside it. The addon's run path starts with $ORIGIN, so on a machine without those
# libraries (a lent GPU host) it loads the bundled copies.
#   bash scripts/bundle.sh BUILD_RELEASE_DIR OUT_DIR
set -euo pipefail
src=${1:?usage: bundle.sh BUILD_RELEASE_DIR OUT_DIR}
out=${2:?usage: bundle.sh BUILD_RELEASE_DIR OUT_DIR}
[ -f "$src/pfc_core.node" ] || { echo "bundle: $src/pfc_core.node is missing (build it first)" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out"/*.so* "$out"/pfc_core.node
cp "$src/pfc_core.node" "$out/"
[ -f "$src/pfc_mpi.so" ] && cp "$src/pfc_mpi.so" "$out/"
# The system libraries every Linux machine has (glibc, libstdc++, libgcc): never copied.
system='^(libc|libm|libdl|libpthread|librt|libutil|libresolv|ld-linux-x86-64|ld-linux-aarch64|libstdc\+\+|libgcc_s)\.so'
# ldd lists the whole load-time closure (dependencies of dependencies too).
ldd "$src/pfc_core.node" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | while read -r soname path; do
  if [[ "$soname" =~ $system ]]; then continue; fi
  cp -L "$path" "$out/$soname"
done
if ldd "$out/pfc_core.node" | grep -q 'not found'; then
  echo "bundle: unresolved libraries:" >&2
  ldd "$out/pfc_core.node" | grep 'not found' >&2
  exit 1
fi
ls "$out"
