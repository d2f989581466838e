"""How far `edgenes-reproduce --plan`'s estimate was from a batch that ran (issue 14: within 30% of a cold batch).

    .venv/bin/python benchmarks/plan_estimate.py --preset quick [--cache_dir ~/.cache/edgenes] [--set key=value ...]
        [--json figures/quick/plan_estimate.json]

Run it after a cold batch, on its store: for every artifact of the batch's plan it compares the seconds the store
recorded for it (measured while the batch computed it) with what the preset model (`edgenes.cost.COST`) estimates for
it, the estimate `--plan` prints before any artifact of a kind exists. It prints both per kind and in total, and,
from the batch's log (`figures/<preset>/batches.jsonl`, the line that computed the most), the wall-clock of the
plan's computation against the estimate divided by the workers (what `--plan --workers K` prints "at best").
"""
import argparse, collections, json, os
from pathlib import Path
from edgenes.config import cache_dir
from edgenes.paper import PAPER
from edgenes.reproduce import batch_overrides
from edgenes.plan import RunSpec, make_plan, probe
from edgenes.cost import model_seconds

ROOT = Path(__file__).resolve().parents[1]

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='quick'); ap.add_argument('--cache_dir', default=str(cache_dir()))
    ap.add_argument('--set', action='append', default=[]); ap.add_argument('--json', default='')
    ap.add_argument('--out_dir', default=str(ROOT/'figures'))
    a = ap.parse_args()
    try: spec = RunSpec(a.preset, batch_overrides(a.preset, a.set), str(Path(a.cache_dir)/a.preset))
    except (ValueError, TypeError) as e: ap.error(str(e))
    tasks = make_plan(spec, list(PAPER), list(spec.P.seeds))
    exp = spec.experiment(read_only=True)
    meas, model = collections.Counter(), collections.Counter(); n = collections.Counter(); missing = 0
    for t in tasks:
        pr = probe(spec, t)
        if pr['state'] != 'cached': missing += 1; continue
        rec = json.loads(Path(spec.store_root, t.kind, f"{pr['key']}.json").read_text())
        if not rec.get('seconds'): continue
        meas[t.kind] += rec['seconds']; model[t.kind] += model_seconds(exp, t); n[t.kind] += 1
    print(f"{a.preset}: {len(tasks)} artifacts in the plan, {sum(n.values())} with recorded seconds, {missing} not in the store")
    print(f"{'kind':12} {'n':>4} {'measured s':>11} {'model s':>9} {'model/measured':>15}")
    for k in meas: print(f"{k:12} {n[k]:4d} {meas[k]:11.0f} {model[k]:9.0f} {model[k] / meas[k]:15.2f}")
    tm, tmod = sum(meas.values()), sum(model.values())
    if not tm: raise SystemExit(f"nothing of this plan is in {spec.store_root}: run the batch first (edgenes-reproduce --preset {a.preset})")
    print(f"{'total':12} {sum(n.values()):4d} {tm:11.0f} {tmod:9.0f} {tmod / tm:15.2f}")
    out = {'preset': a.preset, 'per_kind': {k: {'n': n[k], 'measured': meas[k], 'model': model[k]} for k in meas},
           'measured': tm, 'model': tmod}
    log = Path(a.out_dir)/spec.P.name/'batches.jsonl'
    if log.exists():
        lines = [json.loads(l) for l in log.read_text().splitlines() if l.strip()]
        cold = max(lines, key=lambda b: b['artifacts']['computed'] if b.get('artifacts') else -1)
        if cold.get('artifacts'):
            w = cold['artifacts'].get('workers', 1); wall = cold['artifacts']['seconds']
            print(f"the batch that computed the most ({cold['time']}, {cold['artifacts']['computed']} computed, {w} workers): "
                  f"plan {wall:.0f} s wall; the model's estimate over {w} workers at best {tmod / w:.0f} s "
                  f"({(tmod / w) / wall:.2f} of it); the sum of the artifacts' own seconds {tm:.0f} s ({tm / wall:.2f} of the wall)")
            out['batch'] = {'time': cold['time'], 'workers': w, 'plan_wall': wall, 'computed': cold['artifacts']['computed']}
    if a.json: Path(a.json).write_text(json.dumps(out, indent=1))
