"""How far a paper batch moves when PyTorch takes another CPU kernel path (issue 15: a verdict must not depend on the
machine it was computed on).

    .venv/bin/python benchmarks/kernel_paths.py [--preset quick] [--only fig3_1,table2] [--path default] [--workers 2]
        [--seeds 0,...,9] [--reference figures/quick] [--store DIR] [--out figures/quick/kernel_paths]

It runs `edgenes-reproduce --preset P --only ITEMS --workers K` cold (a fresh store and output folder) with
`ATEN_CPU_CAPABILITY=PATH`, then compares it with the reference batch (the committed figures, computed on this CPU's
own path): per item, the runs whose architecture differs, the largest and the mean change of each numeric column, and
each claim's difference and verdict on both paths. It prints the comparison and writes it to `<out>.json` (with the
commit, the machine, both paths and the seconds) and `<out>.md`, which the README shows.

Same seeds and settings on another kernel path is what another machine of this kind does: its CPU sums in another
order, a near-tie between two operations breaks the other way and the run goes its own way from there.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from contextlib import nullcontext
from pathlib import Path
import pandas as pd
from edgenes.provenance import cpu_model

ROOT = Path(__file__).resolve().parents[1]
EXE = str(Path(sys.executable).parent/'edgenes-reproduce')
KEYS = ('seed', 'source', 'method', 'lam', 'k', 'warmup', 'n')   # columns that name a run; the others are its results


def claims(md:Path)->list:
    "The rows of the claims table of an item's .md (the table whose first header is 'claim')."
    rows, header = [], None
    for line in md.read_text().splitlines():
        if not line.startswith('|'): header = None; continue
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if header is None:
            header = cells if cells and cells[0] == 'claim' else []
            continue
        if header and not set(line) <= set('|-: '): rows.append(dict(zip(header, cells)))
    return rows


def compare_runs(ref:pd.DataFrame, new:pd.DataFrame)->dict:
    "Runs matched by their naming columns: how many, how many found another architecture, per numeric column the change."
    keys = [k for k in KEYS if k in ref.columns]
    m = ref.merge(new, on=keys, suffixes=('_ref', '_new'))
    out = {'runs': len(m), 'unmatched': len(ref) + len(new) - 2 * len(m), 'columns': {}}
    if 'arch' in ref.columns: out['other_arch'] = int((m['arch_ref'] != m['arch_new']).sum())
    for c in ref.columns:
        if c in keys or c == 'arch' or not pd.api.types.is_numeric_dtype(ref[c]): continue
        d = (m[f'{c}_new'] - m[f'{c}_ref']).abs()
        out['columns'][c] = {'changed': int((d > 1e-9).sum()), 'max_abs': float(d.max()), 'mean_abs': float(d.mean())}
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='quick'); ap.add_argument('--only', default='fig3_1,table2')
    ap.add_argument('--path', default='default', help='ATEN_CPU_CAPABILITY of the new run: default, avx2 or avx512')
    ap.add_argument('--workers', type=int, default=2); ap.add_argument('--reference', default='')
    ap.add_argument('--out', default='')
    ap.add_argument('--seeds', default='', help="comma-separated runs, as the reference batch's (default: the preset's)")
    ap.add_argument('--store', default='', help='keep the new batch (store and outputs) here, so that an interrupted run resumes (default: a temporary folder)')
    a = ap.parse_args()
    if a.path not in ('default', 'avx2', 'avx512'): ap.error(f"--path {a.path!r}: expected default, avx2 or avx512")
    items = [k.strip() for k in a.only.split(',') if k.strip()]
    ref = Path(a.reference or ROOT/'figures'/a.preset)
    lacking = [k for k in items if not (ref/f'{k}.csv').exists()]
    if lacking: ap.error(f"--reference {ref}: no {', '.join(f'{k}.csv' for k in lacking)}; run the batch there first")
    import torch
    native = torch.backends.cpu.get_cpu_capability().lower()
    commit = subprocess.run(['git', 'describe', '--always', '--dirty', '--abbrev=40'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    with (tempfile.TemporaryDirectory() if not a.store else nullcontext(a.store)) as tmp:
        cmd = [EXE, '--preset', a.preset, '--only', ','.join(items), '--workers', str(a.workers),
               '--cache_dir', f'{tmp}/cache', '--out_dir', f'{tmp}/fig', *(['--seeds', a.seeds] if a.seeds else [])]
        print(f"ATEN_CPU_CAPABILITY={a.path} {' '.join(cmd[1:])}  (reference: {ref}, this CPU's own path: {native})", flush=True)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env={**os.environ, 'ATEN_CPU_CAPABILITY': a.path}, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0: raise SystemExit(f'the batch failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}')
        new = Path(tmp)/'fig'/a.preset
        rec = {'preset': a.preset, 'seeds': a.seeds or 'the preset\'s', 'items': items, 'path': a.path, 'reference_path': native, 'reference': str(ref),
               'reference_commit': {k: json.loads((ref/f'{k}.json').read_text()).get('git_commit') for k in items},
               'commit': commit, 'machine': f"{cpu_model()}, {os.cpu_count()} cores", 'wall_seconds': wall, 'items_compared': {}}
        for k in items:
            cr, cn = claims(ref/f'{k}.md'), claims(new/f'{k}.md')
            rec['items_compared'][k] = {
                'runs': compare_runs(pd.read_csv(ref/f'{k}.csv'), pd.read_csv(new/f'{k}.csv')),
                'claims': [{'claim': r.get('claim'), 'difference': [r.get('difference'), n.get('difference')],
                            'interval': [r.get('interval (95%)'), n.get('interval (95%)')], 'verdict': [r.get('verdict'), n.get('verdict')]}
                           for r, n in zip(cr, cn)]}
    verdicts = [cl['verdict'] for c in rec['items_compared'].values() for cl in c['claims']]
    rec['verdicts_differ'] = sum(v[0] != v[1] for v in verdicts); rec['verdicts'] = len(verdicts)
    md = [f"Same commit, preset `{a.preset}` and seeds ({a.seeds or 'the preset' + chr(39) + 's'}), items {', '.join(items)}, on this "
          f"{rec['machine']}: the reference batch on the CPU's own kernel path (`{native}`) against a cold batch with "
          f"`ATEN_CPU_CAPABILITY={a.path}` ({wall / 60:.1f} min on {a.workers} workers; `benchmarks/kernel_paths.py`). "
          f"Verdicts that differ between the two paths: **{rec['verdicts_differ']} of {rec['verdicts']}**.", '',
          '| item | runs | other architecture | largest change (mean) per column |', '|---|---:|---:|---|']
    for k, c in rec['items_compared'].items():
        r = c['runs']
        cols = '; '.join(f"{n}: {v['max_abs']:.3g} ({v['mean_abs']:.3g}), {v['changed']} changed" for n, v in r['columns'].items())
        md.append(f"| {k} | {r['runs']} | {r.get('other_arch', '—')} | {cols} |")
    md += ['', f'| claim | difference ({native} / {a.path}) | interval ({native} / {a.path}) | verdict ({native} / {a.path}) |', '|---|---|---|---|']
    for k, c in rec['items_compared'].items():
        for cl in c['claims']:
            md.append(f"| {k}: {cl['claim']} | {' / '.join(map(str, cl['difference']))} | {' / '.join(map(str, cl['interval']))} | "
                      f"{' / '.join(map(str, cl['verdict']))}{'' if cl['verdict'][0] == cl['verdict'][1] else ' (**changed**)'} |")
    print('\n'.join(md))
    if a.out:
        out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix('.json').write_text(json.dumps(rec, indent=1))
        out.with_suffix('.md').write_text('\n'.join(md) + '\n')
