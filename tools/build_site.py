"""Build the docs site as static HTML without Quarto (`make site`; the result is in `_site/`).

`nbdev_docs` needs Quarto, which can't be installed offline. This builds the same site from the
same inputs with what the pinned stack has:

1. `nbdev.serve.proc_nbs()` processes every notebook as `nbdev_docs` would (front matter from the
   title cell, `show_doc` tables for everything exported, hidden cells and directives removed,
   backtick names turned into links to the API pages), into `_proc/`.
2. The paper notebooks get the outputs of their last executed run (`figures/<preset>/runs/`,
   which `make reproduce` writes) and the figure that run saved.
3. nbconvert turns each processed notebook into an HTML body; every page gets the navigation of
   `nbs/sidebar.yml` (the sidebar `nbdev_docs` uses), and links to the docs host or to notebooks
   become relative links inside the site.

    python tools/build_site.py [--out _site] [--preset quick] [--force]

Page names follow nbdev's: `nbs/15_ensemble.ipynb` -> `ensemble.html`, `nbs/paper/table3.ipynb`
-> `paper/table3.html`, `nbs/index.ipynb` -> `index.html`. The page list goes to `pages.json`.
"""
import argparse, html, json, os, re, shutil, sys
from pathlib import Path
import yaml

ROOT = Path(__file__).resolve().parents[1]


def page_name(rel: str) -> str:
    "nbdev's URL of a notebook: the number prefix dropped, `.html`."
    p = Path(rel)
    return str(p.with_name(re.sub(r'^\d+[a-zA-Z0-9]*_', '', p.name.lower())).with_suffix('.html'))


def read_sidebar(nbs: Path) -> list:
    "[(section or None, notebook path relative to nbs)] in the sidebar's order."
    out = []
    def walk(items, section):
        for it in items:
            if isinstance(it, str): out.append((section, it))
            else: walk(it.get('contents', []), it.get('section'))
    walk(yaml.safe_load((nbs/'sidebar.yml').read_text())['website']['sidebar']['contents'], None)
    return out


def title_cell_has_more(path: Path) -> bool:
    "Whether a notebook's title cell holds more than `# title` and a `> summary` (nbdev would drop the rest)."
    cells = json.loads(path.read_text())['cells']
    md = next((''.join(c['source']) for c in cells if c['cell_type'] == 'markdown'), '')
    if not md.startswith('# '): return False
    return bool(re.sub(r'^# [^\n]*\n?(\n> [^\n]*(\n[^\n]+)*)?', '', md).strip())


def front_matter(nb) -> dict:
    "The YAML front matter nbdev's processing put in the first raw cell (title, description)."
    for c in nb.cells:
        if c.cell_type == 'raw' and c.source.startswith('---'):
            try: return yaml.safe_load(c.source.strip().strip('-')) or {}
            except yaml.YAMLError: return {}
    return {}


MACHINE_PATH = re.compile(r'(?<![\w.])/(?:[\w.+-]+/)+?(edgenes/[\w/]+\.py)')


def local_paths(o):
    "An output whose text names a file of the package by the absolute path of the machine that ran it, named from the repository."
    if o.get('output_type') == 'stream': o['text'] = MACHINE_PATH.sub(r'\1', ''.join(o['text']))
    return o


def merge_run(nb, run_path: Path, figure: Path | None, fig_rel: str | None):
    "Give the processed paper notebook the outputs of its executed run (matched by cell id) and its saved figure."
    import nbformat
    if run_path.exists():
        run = nbformat.read(run_path, as_version=4)
        outs = {c.get('id'): c.get('outputs', []) for c in run.cells if c.cell_type == 'code'}
        for c in nb.cells:
            if c.cell_type == 'code' and c.get('id') in outs: c.outputs = [local_paths(o) for o in outs[c['id']]]
    if figure is not None and figure.exists():
        for i, c in enumerate(nb.cells):
            if c.cell_type == 'code' and 'save_figure' in c.source:
                nb.cells.insert(i + 1, nbformat.v4.new_markdown_cell(
                    f'![The figure of the last run]({fig_rel})\n\n*The figure saved by the last run '
                    f'(`{figure.relative_to(ROOT)}`).*'))
                break


def quarto_semantics(nb):
    "Do what Quarto does with what nbdev leaves for it: front matter, `#| echo: false`, directive lines, link attributes."
    cells = []
    for c in nb.cells:
        if c.cell_type == 'raw' and c.source.startswith('---'): continue          # front matter: the page's title and description
        if c.cell_type == 'code':
            dirs = re.findall(r'(?m)^#\|\s*([\w-]+)\s*:?\s*(.*)$', c.source)
            if ('echo', 'false') in dirs: c.metadata.setdefault('tags', []).append('remove_input')
            c.source = re.sub(r'(?m)^#\|.*\n?', '', c.source)
            for o in c.get('outputs', []):
                md = o.get('data', {}).get('text/markdown')
                if md: o['data']['text/markdown'] = re.sub(r'\{target="_blank"[^}]*\}', '', md)
        if c.cell_type == 'markdown':
            c.source = re.sub(r'(?m)^:::.*$', '', c.source)                   # Quarto div fences
        cells.append(c)
    nb.cells = cells


def to_html(nb) -> str:
    "The notebook's body as HTML (nbconvert's `basic` template: no scripts, no outside resources)."
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    cfg = Config()
    cfg.TagRemovePreprocessor.enabled = True
    cfg.TagRemovePreprocessor.remove_input_tags = {'remove_input'}
    ex = HTMLExporter(config=cfg, template_name='basic', exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = ex.from_notebook_node(nb)
    return body


def lower_ids(body: str) -> str:
    "Heading ids in lower case, as Quarto makes them (nbdev's links point to `#name` in lower case)."
    body = re.sub(r'(<h[1-6][^>]*\bid=")([^"]+)"', lambda m: m.group(1) + m.group(2).lower() + '"', body)
    return re.sub(r'href="#([^"]+)"', lambda m: f'href="#{m.group(1).lower()}"', body)


def fix_links(body: str, here: str, doc_url: str) -> str:
    "Links to the docs host or to notebooks become relative links between the site's pages."
    depth = here.count('/')
    up = '../' * depth
    def sub(m):
        attr, url = m.group(1), html.unescape(m.group(2))
        if url.startswith(doc_url): url = up + url[len(doc_url):]
        elif not re.match(r'^[a-z]+:|^#|^/', url):
            path, _, frag = url.partition('#')
            if path.endswith('.ipynb'):
                target = os.path.normpath(os.path.join(os.path.dirname(here), path))
                url = up + page_name(target) + (f'#{frag}' if frag else '') if not target.startswith('..') else url
        return f'{attr}="{html.escape(url, quote=True)}"'
    return re.sub(r'(href|src)="([^"]*)"', sub, body)


def nav_html(entries: list, here: str, titles: dict) -> str:
    up = '../' * here.count('/')
    out, section = ['<nav class="sidebar"><a class="home" href="' + up + 'index.html">edgenes</a><ul>'], None
    for sec, rel in entries:
        if sec != section:
            if section is not None: out.append('</ul></li>')
            if sec is not None: out.append(f'<li class="section"><span>{html.escape(sec)}</span><ul>')
            section = sec
        p = page_name(rel)
        cls = ' class="current"' if p == here else ''
        out.append(f'<li{cls}><a href="{up}{p}">{html.escape(titles.get(p, p))}</a></li>')
    if section is not None: out.append('</ul></li>')
    out.append('</ul></nav>')
    return '\n'.join(out)


CSS = """
body { margin: 0; font-family: system-ui, sans-serif; line-height: 1.5; color: #222; display: flex; }
nav.sidebar { width: 17rem; flex: none; height: 100vh; position: sticky; top: 0; overflow-y: auto;
              padding: 1rem; box-sizing: border-box; background: #f6f7f9; border-right: 1px solid #ddd; font-size: 0.9rem; }
nav.sidebar ul { list-style: none; padding-left: 0.6rem; margin: 0.2rem 0; }
nav.sidebar li.section > span { font-weight: 600; display: block; margin-top: 0.6rem; }
nav.sidebar li.current > a { font-weight: 700; }
nav.sidebar a { text-decoration: none; color: #1a5fb4; }
nav.sidebar a.home { font-size: 1.3rem; font-weight: 700; }
main { flex: 1; min-width: 0; padding: 1.5rem 2.5rem; max-width: 62rem; }
pre { background: #f4f4f4; padding: 0.6rem; overflow-x: auto; font-size: 0.85rem; }
code { font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.85rem; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; }
img { max-width: 100%; }
.description { font-size: 1.15rem; color: #555; }
.anchor-link { display: none; }
"""


def inline_code(text: str) -> str:
    "Escape `text` for HTML and render its `backticked` spans as <code>, as Markdown would."
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(text))


def page(title: str, desc: str, nav: str, body: str, here: str) -> str:
    up = '../' * here.count('/')
    head = f'<h1 class="title">{html.escape(title)}</h1>' + (f'<p class="description">{inline_code(desc)}</p>' if desc else '')
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} – edgenes</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><link rel="stylesheet" href="{up}site.css"></head>\n'
            f'<body>{nav}<main>{head}\n{body}</main></body></html>\n')


def build(out: Path, preset: str = 'quick', force: bool = False, n_workers: int = 2) -> list:
    os.chdir(ROOT)
    import nbformat
    from nbdev.config import get_config
    from nbdev.serve import proc_nbs
    cfg = get_config()
    nbs, proc = cfg.nbs_path, proc_nbs(cfg.nbs_path, n_workers=n_workers, force=force)
    doc_url = cfg.doc_host.rstrip('/') + '/' + cfg.doc_baseurl.strip('/') + '/'
    entries = read_sidebar(nbs)
    missing = [rel for _, rel in entries if not (nbs/rel).exists()]
    if missing: raise SystemExit(f'nbs/sidebar.yml names notebooks that do not exist: {missing}')
    lost = [rel for _, rel in entries if title_cell_has_more(nbs/rel)]
    if lost: raise SystemExit(f'nbdev keeps only the title and the `>` summary of the first markdown cell and drops the rest: '
                              f'move the rest into a cell of its own in {lost}')
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    (out/'site.css').write_text(CSS)
    figs = ROOT/'figures'/preset
    if figs.exists():                                   # the index shows the committed results (figures/<preset>/*.png)
        (out/'figures'/preset).mkdir(parents=True)
        for f in figs.glob('*.png'): shutil.copy(f, out/'figures'/preset/f.name)
    nbs_ = {}
    for _, rel in entries:
        nb = nbformat.read(proc/rel, as_version=4)
        here = page_name(rel)
        if rel.startswith('paper/'):
            key = Path(rel).stem
            merge_run(nb, figs/'runs'/f'{key}.ipynb', figs/f'{key}.png', '../' * here.count('/') + f'figures/{preset}/{key}.png')
        nbs_[here] = (rel, nb)
    titles = {here: str(front_matter(nb).get('title') or Path(rel).stem).replace('`', '') for here, (rel, nb) in nbs_.items()}
    pages = []
    for here, (rel, nb) in nbs_.items():
        fm = front_matter(nb)
        quarto_semantics(nb)
        body = fix_links(lower_ids(to_html(nb)), here, doc_url)
        (out/here).parent.mkdir(parents=True, exist_ok=True)
        (out/here).write_text(page(titles[here], str(fm.get('description') or ''), nav_html(entries, here, titles), body, here))
        pages.append({'page': here, 'notebook': f'nbs/{rel}', 'title': titles[here]})
    (out/'pages.json').write_text(json.dumps(pages, indent=1))
    return pages


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default='_site', help='output folder (default _site)')
    ap.add_argument('--preset', default='quick', help='whose batch outputs the paper pages show (default quick)')
    ap.add_argument('--force', action='store_true', help='reprocess every notebook (ignore _proc/)')
    a = ap.parse_args(argv)
    pages = build(ROOT/a.out, a.preset, a.force)
    for p in pages: print(f"{p['page']:28s} {p['notebook']}")
    print(f'{len(pages)} pages in {ROOT/a.out}')


if __name__ == '__main__': sys.exit(main())
