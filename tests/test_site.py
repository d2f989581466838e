"""The docs site built without Quarto (tools/build_site.py), opened in a real headless browser.

Debian's chromium and chromedriver are installed by the fixture when missing (apt-get, as root);
Selenium drives them. Every page must load without console errors, every internal link and
image must resolve (anchors included), every paper page must show its figure, and the index must
show the README's results tables.
"""
import functools, html, http.server, os, re, subprocess, sys, threading
from pathlib import Path
from urllib.parse import urljoin, urlparse, unquote
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import build_site  # noqa: E402

CHROMIUM, CHROMEDRIVER = '/usr/bin/chromium', '/usr/bin/chromedriver'
PAPER_KEYS = ['fig3_1', 'table2', 'fig3_2', 'table1', 'table3', 'fig4_1', 'theorem1']


def ensure_chromium():
    "Install Debian's chromium and chromedriver when they are missing (the test's own setup)."
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(): return
    if os.geteuid() != 0: pytest.fail("Debian's chromium and chromium-driver are needed: run `sudo apt-get install -y chromium chromium-driver`")
    env = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}
    for cmd in (['apt-get', 'update', '-qq'], ['apt-get', 'install', '-y', '-qq', 'chromium', 'chromium-driver']):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if r.returncode: pytest.fail(f"`{' '.join(cmd)}` failed ({r.returncode}): {r.stderr[-2000:]}")


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp('site')/'_site'
    pages = build_site.build(out, 'quick')
    return out, pages


@pytest.fixture(scope='module')
def server(site):
    out, _ = site
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    handler = functools.partial(Quiet, directory=str(out))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    httpd.shutdown()


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    ensure_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-dev-shm-usage',
              '--disable-background-networking', '--disable-component-update', '--disable-sync',
              f'--user-data-dir={tmp_path_factory.mktemp("chromium")}'):
        opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield d
    d.quit()


def test_every_sidebar_notebook_is_a_page(site):
    out, pages = site
    names = [p['page'] for p in pages]
    entries = build_site.read_sidebar(ROOT/'nbs')
    assert names == [build_site.page_name(rel) for _, rel in entries]
    nbs = {str(p.relative_to(ROOT/'nbs')) for p in (ROOT/'nbs').rglob('*.ipynb') if not p.name.startswith('_')}
    assert nbs == {rel for _, rel in entries}, 'every notebook is in nbs/sidebar.yml, and nothing else'
    assert {f'paper/{k}.html' for k in PAPER_KEYS} <= set(names) and 'index.html' in names
    print('\n'.join(f"{p['page']:24s} {p['title']}" for p in pages))


def test_subtitles_render_code_not_backticks(site):
    "A page's subtitle (its notebook's description) shows `code` spans as <code>, never literal backticks."
    out, pages = site
    descs = {p['page']: re.findall(r'<p class="description">(.*?)</p>', (out/p['page']).read_text(), re.S) for p in pages}
    assert any('<code>' in d for ds in descs.values() for d in ds), 'some subtitle names code (e.g. the hypernetwork page)'
    assert not [p for p, ds in descs.items() for d in ds if '`' in d], 'literal backticks in a subtitle'
    assert build_site.inline_code('a `x<y` b') == 'a <code>x&lt;y</code> b'


def test_no_machine_paths(site):
    "Warnings printed by a batch name the package's files from the repository, not by the folder of the machine that ran it."
    out, pages = site
    shown = {p['page']: (out/p['page']).read_text() for p in pages}
    assert not [p for p, h in shown.items() if str(ROOT) in h or re.search(r'/(?:tmp|home|root|work)/[\w./-]*edgenes/\w+\.py', h)]
    o = build_site.local_paths({'output_type': 'stream', 'text': '/tmp/x/y/edgenes/methods.py:99: UserWarning: w'})
    assert o['text'] == 'edgenes/methods.py:99: UserWarning: w'


def _links(page_html: str) -> list:
    return [html.unescape(u) for u in re.findall(r'(?:href|src)="([^"]+)"', page_html)]


def test_every_internal_link_resolves(site):
    out, pages = site
    ids = {}
    def ids_of(p: Path):
        if p not in ids: ids[p] = set(re.findall(r'\bid="([^"]+)"', p.read_text()))
        return ids[p]
    checked, bad = 0, []
    for p in pages:
        here = out/p['page']
        for url in _links(here.read_text()):
            u = urlparse(url)
            if u.scheme or url.startswith('data:'):
                assert not url.startswith('https://edgenes.github.io'), f"{p['page']}: link to the docs host left absolute: {url}"
                continue
            target = (here.parent/unquote(u.path)).resolve() if u.path else here
            checked += 1
            if not target.exists(): bad.append(f"{p['page']}: {url} (no file)"); continue
            if u.fragment and target.suffix == '.html' and u.fragment not in ids_of(target):
                bad.append(f"{p['page']}: {url} (no anchor #{u.fragment})")
    print(f'{checked} internal links and images checked, {len(bad)} broken')
    assert not bad, '\n'.join(bad)
    assert checked > 100


def test_pages_load_in_chromium_without_console_errors(site, server, browser):
    _, pages = site
    report = []
    for p in pages:
        browser.get(urljoin(server, p['page']))
        assert browser.execute_script('return document.readyState') == 'complete'
        logs = browser.get_log('browser')
        errors = [l for l in logs if l['level'] in ('SEVERE', 'ERROR')]
        imgs = browser.execute_script(
            'return Array.from(document.images).map(i => [i.getAttribute("src"), i.complete && i.naturalWidth > 0])')
        broken = [s for s, ok in imgs if not ok]
        nav = browser.execute_script('return document.querySelectorAll("nav.sidebar a").length')
        report.append(f"{p['page']:24s} console errors {len(errors)}  images {len(imgs)} (broken {len(broken)})  nav links {nav}")
        assert not errors, f"{p['page']}: {errors}"
        assert not broken, f"{p['page']}: images that did not load: {broken}"
        assert nav == len(pages) + 1, f"{p['page']}: the sidebar has {nav} links, expected one per page and home"
    print('\n'.join(report))


@pytest.mark.parametrize('key', PAPER_KEYS)
def test_paper_page_shows_its_figure(site, server, browser, key):
    browser.get(urljoin(server, f'paper/{key}.html'))
    shown = browser.execute_script(
        'return Array.from(document.images).filter(i => i.getAttribute("src").endsWith(arguments[0]) && i.naturalWidth > 0)'
        '.map(i => [i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width])', f'figures/quick/{key}.png')
    assert shown, f'paper/{key}.html shows no figures/quick/{key}.png'
    w, h, on_screen = shown[0]
    assert w > 300 and h > 150 and on_screen > 200
    tables = browser.execute_script('return document.querySelectorAll("main table").length')
    assert tables >= 1, f'paper/{key}.html shows none of its run\'s tables'


def test_index_shows_the_readme_results_tables(site, server, browser):
    browser.get(urljoin(server, 'index.html'))
    cells = browser.execute_script(
        'return Array.from(document.querySelectorAll("main table")).map(t => Array.from(t.querySelectorAll("th,td")).map(c => c.textContent.trim()))')
    readme = (ROOT/'README.md').read_text()
    found = 0
    for key in PAPER_KEYS:
        md = (ROOT/'figures'/'quick'/f'{key}.md').read_text()
        assert md.strip() in readme, f'the README lacks the {key} table of figures/quick'
        for block in md.strip().split('\n\n'):   # the results table, then the claims table
            rows = [[c.strip() for c in l.strip().strip('|').split('|')] for l in block.strip().splitlines()]
            want = [c for r in rows[:1] + rows[2:] for c in r]
            assert any(all(c in t for c in want) for t in cells), \
                f'index.html shows no table with the cells of this table of figures/quick/{key}.md:\n{block}'
        found += 1
    imgs = browser.execute_script('return Array.from(document.images).filter(i => i.naturalWidth > 0).map(i => i.getAttribute("src"))')
    assert {f'figures/quick/{k}.png' for k in PAPER_KEYS} <= set(imgs)
    print(f'index.html: {found} results tables as in README.md, {len(imgs)} figures')
