#!/bin/bash
# Alternates processes: JAX loops (default XLA flags), JAX loops (small-while
# threshold 1 MiB), Brian2 runtime vs cpp_standalone. Run from this folder;
# appends to final.jsonl and final_brian.jsonl here.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
JAX_PY=${JAX_PY:-$ROOT/.venv/bin/python}
BRIAN_PY=${BRIAN_PY:-/work/venvs/brian/bin/python}
F="--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=1048576"
cd "$HERE"
for round in 1 2 3; do
  nice -n 10 "$JAX_PY" final_compare.py 3 "default$round" >> final.jsonl
  XLA_FLAGS=$F nice -n 10 "$JAX_PY" final_compare.py 3 "smallwhile$round" >> final.jsonl
  nice -n 10 "$BRIAN_PY" "$ROOT/benchmarks/brian2_song2000.py" --out "$HERE/final_brian.jsonl" \
    speed --seconds 5 --reps 3
done
