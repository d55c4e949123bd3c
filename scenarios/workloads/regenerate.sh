#!/bin/sh
# Regenerates the workload scenarios from the strace logs kept beside them (docs/workloads.md).
# Run from the repository root: sh scenarios/workloads/regenerate.sh
set -e
W=scenarios/workloads
HMMLAB="${HMMLAB:-npx tsx src/main/cli/index.ts}"
M="Machine: Linux 6.18.44 x86_64 (Debian 12 VM, 2 CPUs, THP madvise), strace 6.1; captured 2026-12-06 14:30 UTC."
COMMON="--device dmirror --iommu intel --fork-exit --design D1,D2,D3,D4,D5,D6 -q"

$HMMLAB import strace $W/python-imports.strace.log -o $W/python-imports.yaml $COMMON \
  --name "python3: import json, re, sqlite3, decimal, email, xml, asyncio; 400k strings to JSON" \
  --note "Captured with: strace -f -ttt -e trace=memory,process,desc -o python-imports.strace.log /usr/bin/python3 -c 'import json, re, sqlite3, decimal, email.parser, xml.dom.minidom, asyncio; x = [str(i) * 3 for i in range(400000)]; s = json.dumps(x); del x; print(len(s))' (Python 3.11.2)" \
  "$M" "Generated with: sh scenarios/workloads/regenerate.sh (hmmlab import strace $COMMON)"

$HMMLAB import strace $W/node-script.strace.log -o $W/node-script.yaml $COMMON \
  --name "node: 300k objects in an array, gzip of 4 MiB" \
  --note "Captured with: strace -f -ttt -e trace=memory,process,desc -o node-script.strace.log node -e \"const a=[]; for(let i=0;i<300000;i++) a.push({i, s:'x'+i}); const z=require('zlib').gzipSync(Buffer.alloc(4<<20, 7)); console.log(a.length, z.length)\" (Node.js v20.20.2)" \
  "$M" "Generated with: sh scenarios/workloads/regenerate.sh (hmmlab import strace $COMMON)"

$HMMLAB import strace $W/gcc-build.strace.log -o $W/gcc-build.yaml $COMMON --mirror all \
  --name "gcc -O2 of a small C file: gcc, cc1, as, collect2, ld" \
  --note "Captured with: strace -f -ttt -e trace=memory,process,desc -o gcc-build.strace.log gcc -O2 -o hello hello.c (gcc 12.2.0; hello.c is gcc-build.hello.c)" \
  "$M" "Generated with: sh scenarios/workloads/regenerate.sh (hmmlab import strace $COMMON --mirror all)"
