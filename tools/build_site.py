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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import site_math, nb_outputs, site_search  # noqa: E402
from site_page import inline_code, nav_html, page, pager_html, css  # noqa: E402,F401

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
                    f'(`{figure.relative_to(ROOT)}`).*', id=f'figure-{figure.stem}'))     # a fixed id: rebuilds are byte-identical
                break


def merge_outputs(nb, outs: dict):
    "Give a processed library notebook the outputs of its execution (`tools/nb_outputs.py`), matched by cell id."
    import nbformat
    for c in nb.cells:
        if c.cell_type == 'code' and not c.get('outputs') and c.get('id') in outs:
            c.outputs = [local_paths(nbformat.from_dict(o)) for o in outs[c['id']]]


def library_outputs(nbs: Path, rels: list, n_workers: int = 2) -> dict:
    "{notebook: {cell id: outputs}} of the library notebooks, executing those whose kept outputs are missing or stale."
    digest = nb_outputs.source_digest()
    outs = {rel: nb_outputs.load(nbs/rel, digest) for rel in rels}
    todo = [rel for rel, o in outs.items() if o is None]
    if todo:
        print(f'executing {len(todo)} notebooks for their outputs ({n_workers} at a time): {" ".join(todo)}', flush=True)
        res = nb_outputs.execute([nbs/rel for rel in todo], n_workers)
        for rel in todo:
            outs[rel] = nb_outputs.load(nbs/rel, digest)
            if outs[rel] is None:
                print(f'WARNING: nbs/{rel} failed to execute (its error is above): its page shows no outputs; '
                      f'run `nbdev_test --path nbs/{rel}` to see why', file=sys.stderr)
    return outs


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
    "The notebook's body as HTML (nbconvert's `basic` template: no scripts, no outside resources), its TeX as MathML."
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    cfg = Config()
    cfg.TagRemovePreprocessor.enabled = True
    cfg.TagRemovePreprocessor.remove_input_tags = {'remove_input'}
    ex = HTMLExporter(config=cfg, template_name='basic', exclude_input_prompt=True, exclude_output_prompt=True)
    store = []
    for c in nb.cells:
        if c.cell_type == 'markdown': c.source = site_math.protect(c.source, store)
        for o in c.get('outputs', []):
            if 'text/markdown' in o.get('data', {}): o['data']['text/markdown'] = site_math.protect(o['data']['text/markdown'], store)
    body, _ = ex.from_notebook_node(nb)
    return site_math.restore(body, store)


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
    (out/'site.css').write_text(css())
    (out/'site.js').write_text(site_search.SITE_JS)
    figs = ROOT/'figures'/preset
    if figs.exists():                                   # the index shows the committed results (figures/<preset>/*.png)
        (out/'figures'/preset).mkdir(parents=True)
        for f in figs.glob('*.png'): shutil.copy(f, out/'figures'/preset/f.name)
    outs = library_outputs(nbs, [rel for _, rel in entries if not rel.startswith('paper/')], n_workers)
    nbs_ = {}
    for _, rel in entries:
        nb = nbformat.read(proc/rel, as_version=4)
        here = page_name(rel)
        if rel.startswith('paper/'):
            key = Path(rel).stem
            merge_run(nb, figs/'runs'/f'{key}.ipynb', figs/f'{key}.png', '../' * here.count('/') + f'figures/{preset}/{key}.png')
        elif outs.get(rel): merge_outputs(nb, outs[rel])
        nbs_[here] = (rel, nb)
    titles = {here: str(front_matter(nb).get('title') or Path(rel).stem).replace('`', '') for here, (rel, nb) in nbs_.items()}
    pages, index, order = [], [], list(nbs_)
    for here, (rel, nb) in nbs_.items():
        fm = front_matter(nb)
        quarto_semantics(nb)
        body = fix_links(lower_ids(to_html(nb)), here, doc_url)
        (out/here).parent.mkdir(parents=True, exist_ok=True)
        (out/here).write_text(page(titles[here], str(fm.get('description') or ''), nav_html(entries, here, titles, page_name), body, here,
                                   pager_html(order, here, titles)))
        index += site_search.page_entries(here, titles[here], body)
        pages.append({'page': here, 'notebook': f'nbs/{rel}', 'title': titles[here]})
    (out/'search_index.js').write_text(site_search.index_js(index))
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
