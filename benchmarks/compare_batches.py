"""Compare two batches of `edgenes-reproduce`: their stores (the same keys, and every entry's spec and value equal
with `torch.equal` on tensors and `==` on everything else, timings aside) and their outputs (every table equal).

    python benchmarks/compare_batches.py --stores A/smoke B/smoke --outputs A_out/smoke B_out/smoke

A redesign that must leave every number unchanged runs the same cold batch before and after and compares them here.
Exit status 0 when both are equal, 1 otherwise; the differences are printed."""
import argparse, json, sys
from pathlib import Path

TIMING = {'seconds', 'wall_seconds', 'created', 'finished', 'git_commit', 'time', 'epoch_seconds', 'search_seconds',
          'retrain_seconds', 'train_seconds', 'hyper_seconds', 'cost_seconds'}   # fields that record when and how long


def same(a, b, path:str, diffs:list, timing=TIMING):
    "Compare two loaded values recursively; append the paths that differ to `diffs`."
    import torch
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        ok = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
        if not ok: diffs.append(path)
    elif isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b): diffs.append(f'{path}: keys {sorted(set(a) ^ set(b), key=str)}')
        for k in set(a) & set(b):
            if not timed(k): same(a[k], b[k], f'{path}.{k}', diffs, timing)
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b): diffs.append(f'{path}: length {len(a)} vs {len(b)}')
        else:
            for i, (x, y) in enumerate(zip(a, b)): same(x, y, f'{path}[{i}]', diffs, timing)
    elif a != b and not (a != a and b != b): diffs.append(f'{path}: {str(a)[:60]} vs {str(b)[:60]}')


def compare_stores(a:Path, b:Path)->dict:
    "Entries (<kind>/<key>.pt) of two stores: the keys each lacks, and the entries whose values differ."
    import torch
    ka = {p.relative_to(a) for p in a.glob('*/*.pt')}; kb = {p.relative_to(b) for p in b.glob('*/*.pt')}
    out = {'entries': [len(ka), len(kb)], 'only_a': sorted(map(str, ka - kb)), 'only_b': sorted(map(str, kb - ka)), 'differ': {}}
    for k in sorted(ka & kb):
        d = []
        ra, rb = (torch.load(r/k, map_location='cpu', weights_only=True) for r in (a, b))
        for part in ('spec', 'value'):       # what was computed and from what; the record's other fields say when, how long, how
            same(ra.get(part), rb.get(part), f'{k}:{part}', d)
        if d: out['differ'][str(k)] = d[:5]
    return out


def timed(name:str)->bool:
    "A column or field that records a duration (it differs between two runs of the same computation)."
    n = str(name).lower()
    return n in TIMING or 'seconds' in n or '(s)' in n or 'cost' in n or n.endswith('_s') or 'gpu h' in n


def timing_claim(text:str)->bool:
    "A claim about measured time or cost (its numbers are seconds)."
    t = text.lower()
    return 'cost' in t or 'time' in t or '(s;' in t or 'seconds' in t


def md_rows(text:str)->list:
    "The rows of the markdown tables in `text` without their timing columns (other lines as they are)."
    out, keep = [], None
    for line in text.splitlines():
        if not line.startswith('|'): out.append(line); keep = None; continue
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if keep is None: keep = [i for i, c in enumerate(cells) if not timed(c)]
        row = [cells[i] for i in keep if i < len(cells)]
        if not (row and timing_claim(row[0])): out.append(row)
    return out


def compare_outputs(a:Path, b:Path)->dict:
    """The tables of two output folders: each .csv without its timing columns, each .md table without them, the
    `results` of each .json record without timing fields (claims about measured cost included)."""
    import pandas as pd
    out = {'files': 0, 'differ': []}
    for f in sorted(a.glob('*.csv')):
        g = b/f.name; out['files'] += 1
        if not g.exists(): out['differ'].append(f.name); continue
        x, y = pd.read_csv(f), pd.read_csv(g)
        x, y = x[[c for c in x.columns if not timed(c)]], y[[c for c in y.columns if not timed(c)]]
        if not x.equals(y): out['differ'].append(f.name)
    for f in sorted(a.glob('*.md')):
        g = b/f.name; out['files'] += 1
        if f.name.startswith(('kernel_paths', 'reg_a_lr')): continue
        if not g.exists() or md_rows(f.read_text()) != md_rows(g.read_text()): out['differ'].append(f.name)
    for f in sorted(a.glob('*.json')):
        g = b/f.name
        if f.name.startswith(('kernel_paths', 'reg_a_lr')): continue
        out['files'] += 1; d = []
        if not g.exists(): out['differ'].append(f.name); continue
        drop = lambda r: {k: v for k, v in r.items() if not timed(k)} if isinstance(r, dict) else r
        ra, rb = (drop(json.loads(h.read_text()).get('results') or {}) for h in (f, g))
        for r in (ra, rb):      # a claim about measured cost or time compares seconds, which differ from run to run
            for k in ('claims', 'verdicts'):
                if isinstance(r.get(k), list): r[k] = [c for c in r[k] if not timing_claim(str(c))]
        same(ra, rb, f.name, d)
        if d: out['differ'].append(f'{f.name}: {d[:3]}')
    return out


def main(argv=None)->int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--stores', nargs=2, metavar=('A', 'B'), help="two stores' preset folders, e.g. cache/smoke")
    ap.add_argument('--outputs', nargs=2, metavar=('A', 'B'), help='two output folders, e.g. figures/smoke')
    ap.add_argument('--json', help='write the comparison here')
    args = ap.parse_args(argv)
    if not (args.stores or args.outputs): ap.error('give --stores and/or --outputs')
    res, ok = {}, True
    if args.stores:
        s = res['stores'] = compare_stores(*map(Path, args.stores))
        ok &= not (s['only_a'] or s['only_b'] or s['differ'])
        print(f"stores: {s['entries'][0]} vs {s['entries'][1]} entries; only in A {len(s['only_a'])}, only in B {len(s['only_b'])}, "
              f"values differ in {len(s['differ'])}")
        for k, d in list(s['differ'].items())[:10]: print('  differ', k, d)
        for k in (s['only_a'] + s['only_b'])[:10]: print('  missing on one side:', k)
    if args.outputs:
        o = res['outputs'] = compare_outputs(*map(Path, args.outputs))
        ok &= not o['differ']
        print(f"outputs: {o['files']} tables and records compared, {len(o['differ'])} differ {o['differ'][:10]}")
    if args.json: Path(args.json).write_text(json.dumps(res, indent=1))
    print('equal' if ok else 'DIFFERENT')
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
