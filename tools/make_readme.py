"""Generate README.md from nbs/index.ipynb without Quarto (`make readme`).

nbdev's own `nbdev_readme` needs Quarto, which can't be installed offline. This runs the index
notebook (its cells only read committed result files, so it takes seconds), saves the outputs in
the notebook (the docs site shows saved outputs), and writes its markdown, honouring the nbdev
directives `#| hide` (cell left out) and `#| echo: false` (source left out, output kept).
"""
import os, re, sys
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

ROOT = Path(__file__).resolve().parents[1]

def directives(src: str) -> dict:
    "nbdev directives (`#| key: value` or `#| key`) at the top of a code cell."
    out = {}
    for line in src.splitlines():
        m = re.match(r'^#\|\s*([\w-]+)\s*:?\s*(.*)$', line)
        if not m: break
        out[m.group(1)] = m.group(2).strip() or True
    return out

def output_md(o) -> str:
    "Markdown for one saved output."
    data = o.get('data', {})
    if 'text/markdown' in data: return ''.join(data['text/markdown'])
    text = ''.join(o.get('text', '')) if o.get('output_type') == 'stream' else ''.join(data.get('text/plain', ''))
    return f'```\n{text.rstrip()}\n```' if text.strip() else ''

def to_markdown(nb) -> str:
    parts = []
    for c in nb.cells:
        if c.cell_type == 'markdown': parts.append(c.source); continue
        d = directives(c.source)
        if d.get('hide') or 'default_exp' in d: continue
        if d.get('echo') != 'false':
            code = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|')).strip()
            if code: parts.append(f'```python\n{code}\n```')
        parts += [m for m in map(output_md, c.get('outputs', [])) if m]
    return '\n\n'.join(parts) + '\n'

def main():
    path = ROOT/'nbs'/'index.ipynb'
    nb = read_nb(path)
    os.chdir(path.parent)                          # the notebook's paths are relative to nbs/, as under nbdev_test
    skip = lambda c: c.cell_type != 'code' or directives(c.source).get('eval') == 'false'
    CaptureShell().run_all(nb, exc_stop=True, preproc=skip)
    write_nb(nb, path)
    head = '<!-- Generated from nbs/index.ipynb by `make readme`; edit the notebook, not this file. -->\n\n'
    (ROOT/'README.md').write_text(head + to_markdown(nb))
    print(f'wrote {ROOT/"README.md"}')

if __name__ == '__main__': sys.exit(main())
