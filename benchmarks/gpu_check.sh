#!/usr/bin/env bash
# The GPU check of issue 27, in one command and at most about 8 minutes on one H100-class GPU:
#   the CUDA tests, the supernet at the paper shape (the plain DARTS formulation, edgenes eager, edgenes compiled),
#   the phases at the paper preset's shapes (eager and compiled) and the paper batch projected from their rates,
#   into one JSON record.
#
#   bash benchmarks/gpu_check.sh [--device cuda] [--out figures/bench/gpu_check.json]
#
# On a machine without a GPU, `--device cpu` runs the same steps at sizes a CPU finishes in minutes (the smoke
# preset's phases, 10 timed supernet steps) to show the script works; its numbers are CPU numbers, named so.
# Needs the project installed (make install) or, on the lent GPU machine, PYTHONPATH set as ../shared/GPU.md says.
set -u
DEVICE=cuda; OUT=figures/bench/gpu_check.json
while [ $# -gt 0 ]; do case "$1" in --device) DEVICE=$2; shift 2;; --out) OUT=$2; shift 2;; *) echo "unknown argument $1" >&2; exit 2;; esac; done
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
start=$(date +%s)
# On the CPU: the smoke shapes, and the phases compiled with aot_eager (graph capture without code generation: minutes,
# where inductor's cold compiles of the four phases take about 15 minutes here); the supernet is compiled with inductor.
if [ "$DEVICE" = cpu ]; then PRESETS=smoke; STEPS=10; MODES=eager,aot_eager; TESTS="tests/test_syncs.py"
else PRESETS=paper; STEPS=20; MODES=eager,inductor; TESTS="tests/test_device.py tests/test_syncs.py"; fi
echo "== tests ($TESTS)"
t0=$(date +%s); $PY -m pytest -q -rs $TESTS > "$TMP/tests.txt" 2>&1; TESTS_RC=$?; tail -3 "$TMP/tests.txt"; TESTS_S=$(( $(date +%s) - t0 ))
echo "== supernet at the paper shape (3x32x32, 100 classes): plain, eager, compiled"
t0=$(date +%s); $PY benchmarks/supernet.py --device "$DEVICE" --steps $STEPS --kinds plain,edgenes,compiled --classes 100 --inputs 3x32 \
    --json "$TMP/supernet.json" > "$TMP/supernet.txt" 2>&1; SUPERNET_RC=$?; tail -6 "$TMP/supernet.txt"; SUPERNET_S=$(( $(date +%s) - t0 ))
echo "== phases at the $PRESETS preset's shapes, eager and compiled"
t0=$(date +%s); $PY benchmarks/phases.py --device "$DEVICE" --presets $PRESETS --compiled_presets $PRESETS --modes $MODES --iters 6 \
    --out "$TMP/phases" > "$TMP/phases.txt" 2>&1; PHASES_RC=$?; tail -14 "$TMP/phases.txt"; PHASES_S=$(( $(date +%s) - t0 ))
$PY - "$TMP" "$OUT" "$DEVICE" "$TESTS_RC" "$SUPERNET_RC" "$PHASES_RC" "$TESTS_S" "$SUPERNET_S" "$PHASES_S" "$start" <<'PYEOF'
import json, subprocess, sys, time
from pathlib import Path
tmp, out, device, trc, src, prc, ts, ss, ps, start = sys.argv[1:]
load = lambda p: json.loads(Path(p).read_text()) if Path(p).exists() else None
import torch
sup = load(f'{tmp}/supernet.json')
it = {r['formulation']: r['seconds_per_step'] for r in (sup or {}).get('rows', []) if r['step'] == 'iteration'}
rec = {'check': 'gpu_check', 'device': device, 'device_name': torch.cuda.get_device_name() if device.startswith('cuda') and torch.cuda.is_available() else 'cpu',
       'torch': torch.__version__, 'git': subprocess.run(['git', 'describe', '--always', '--dirty'], capture_output=True, text=True).stdout.strip(),
       'seconds': round(time.time() - int(start)), 'stages': {'tests': {'rc': int(trc), 's': int(ts), 'summary': Path(f'{tmp}/tests.txt').read_text().strip().splitlines()[-1:]},
       'supernet': {'rc': int(src), 's': int(ss)}, 'phases': {'rc': int(prc), 's': int(ps)}},
       'supernet': sup, 'phases': load(f'{tmp}/phases.json'),
       'iteration_ms': {k: 1000 * v for k, v in it.items()},
       'compiled_vs_plain': it['plain'] / it['compiled'] if {'plain', 'compiled'} <= set(it) else None}
ph = rec['phases'] or {}
rec['paper_batch_hours'] = {p['mode']: p['hours'] for p in ph.get('paper_batch_projection', [])}
Path(out).parent.mkdir(parents=True, exist_ok=True); Path(out).write_text(json.dumps(rec, indent=1))
print(f"gpu_check: {rec['seconds']} s on {rec['device_name']}; iteration ms {({k: round(v, 1) for k, v in rec['iteration_ms'].items()})}; "
      f"compiled vs plain {rec['compiled_vs_plain'] and round(rec['compiled_vs_plain'], 2)}x; paper batch hours {rec['paper_batch_hours']}; record {out}")
sys.exit(0 if int(trc) == 0 and int(src) == 0 and int(prc) == 0 else 1)
PYEOF
