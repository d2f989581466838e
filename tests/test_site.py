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


# ---- issue 26: math, outputs, search, contents, layout, highlighting, byte-identical rebuilds ----

LIBRARY = lambda pages: [p['page'] for p in pages if not p['page'].startswith('paper/') and p['page'] != 'index.html']
VISIBLE_TEXT = '''
const m = document.querySelector('main').cloneNode(true);
m.querySelectorAll('pre, code, math, script, style').forEach(e => e.remove());
return m.textContent;'''


def test_tex_to_mathml_units():
    "Inline and display spans become <math>; code is left alone; bad TeX shows its source, marked; placeholders survive attributes."
    import site_math
    store = []
    md = 'cost $5 and $6; $x_1$ and `$y$`\n```\n$z$\n```\n$$\\frac{a}{b}$$ and $\\frac{a$'
    out = site_math.protect(md, store)
    assert len(store) == 3 and '`$y$`' in out and '\n$z$\n' in out and 'cost $5 and $6' in out
    assert store[0].startswith('<math') and 'display="inline"' in store[0] and 'display="block"' in store[1]
    assert store[2].startswith('<code class="tex-error"') and '$\\frac{a$' in store[2]
    assert 'tex-error' in site_math.to_mathml('\\notacommand{x}')
    assert '\\arg' not in site_math.to_mathml('\\arg\\min_w f(w)')
    html_ = site_math.restore('<h2 id="the-EDGENESMATH0X-map">The EDGENESMATH0X map</h2>', store)
    assert html_.startswith('<h2 id="the-x 1-map">'.replace('x 1', site_math.plain(store[0]))) and html_.count('<math') == 1


def test_no_raw_tex_and_math_renders(site, server, browser):
    "No page shows `$` TeX or a TeX command outside code; the method pages render <math> elements the browser lays out."
    _, pages = site
    raw, counts = [], {}
    for p in pages:
        browser.get(urljoin(server, p['page']))
        text = browser.execute_script(VISIBLE_TEXT)
        tex = re.findall(r'\$[^$\s][^$]{0,60}\$|\\(?:frac|mathbb|mathcal|lambda|alpha|sum|min|in|le|ge)\b', text)
        if tex: raw.append(f"{p['page']}: {tex[:3]}")
        counts[p['page']] = browser.execute_script(
            'return Array.from(document.querySelectorAll("main math")).filter(m => m.getBoundingClientRect().width > 0).length')
        assert not browser.execute_script('return document.querySelectorAll(".tex-error").length'), f"{p['page']}: TeX that did not convert"
    print('rendered <math> per page: ' + ', '.join(f'{k} {v}' for k, v in counts.items() if v))
    assert not raw, 'raw TeX on pages:\n' + '\n'.join(raw)
    for key in ('hypernet.html', 'stats.html', 'theorem.html', 'paper/theorem1.html'):
        assert counts[key] >= 1, f'{key} renders no <math>'
    assert sum(1 for v in counts.values() if v) >= 20


def test_library_pages_show_their_examples_outputs(site, server, browser):
    "Every library page with an example (a code cell whose input is shown) shows at least one output of such a cell; plots are images."
    _, pages = site
    report, missing, plots = [], [], 0
    for name in LIBRARY(pages):
        browser.get(urljoin(server, name))
        n_ex, n_out, n_img = browser.execute_script('''
            const cells = Array.from(document.querySelectorAll('main .code_cell')).filter(c => c.querySelector('.input'));
            const shown = cells.filter(c => Array.from(c.querySelectorAll('.output_area')).some(o => o.textContent.trim() || o.querySelector('img')));
            const imgs = cells.flatMap(c => Array.from(c.querySelectorAll('.output_area img'))).filter(i => i.naturalWidth > 0);
            return [cells.length, shown.length, imgs.length];''')
        report.append(f'{name:18s} examples {n_ex:3d}  with output {n_out:3d}  images {n_img}')
        plots += n_img
        if n_ex and not n_out: missing.append(name)
    print('\n'.join(report))
    assert not missing, f'library pages with examples and no output: {missing}'
    assert plots >= 2, 'the notebooks that plot (Theorem 1, curves) show their plots as images'


def test_search_finds_the_hypernetwork(site, server, browser):
    "Typing in the search box lists results; Enter opens the best one, the hypernetwork's page."
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    browser.set_window_size(1400, 900)
    browser.get(urljoin(server, 'paper/table3.html'))
    box = browser.find_element(By.ID, 'search-box')
    box.send_keys('hypernetwork')
    WebDriverWait(browser, 10).until(lambda d: d.execute_script('return document.querySelectorAll("#search-results a").length') > 0)
    hits = browser.execute_script('return Array.from(document.querySelectorAll("#search-results a")).map(a => a.textContent)')
    print('search "hypernetwork":', hits[:5])
    box.send_keys(Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda d: urlparse(d.current_url).path.endswith('/hypernet.html'))
    assert browser.execute_script('return document.querySelector("h1.title").textContent') == 'The hypernetwork'
    box = browser.find_element(By.ID, 'search-box')
    box.send_keys('xqzvk nothing matches')
    WebDriverWait(browser, 10).until(lambda d: 'No results' in d.execute_script('return document.getElementById("search-results").textContent'))


def test_contents_and_previous_next(site):
    "Long pages list their h2/h3 headings ('On this page'); every page links to its neighbours in sidebar order."
    out, pages = site
    order = [p['page'] for p in pages]
    long_pages = 0
    for i, name in enumerate(order):
        h = (out/name).read_text()
        pager = re.search(r'<nav class="pager".*?</nav>', h, re.S).group(0)
        up = '../' * name.count('/')
        if i: assert f'rel="prev" href="{up}{order[i-1]}"' in pager, name
        if i + 1 < len(order): assert f'rel="next" href="{up}{order[i+1]}"' in pager, name
        ids = re.findall(r'<h[23]\b[^>]*\bid="([^"]+)"', h.split('<aside class="toc">')[0])
        if len(ids) >= 3:
            long_pages += 1
            toc = re.search(r'<aside class="toc">.*?</aside>', h, re.S)
            assert toc, f'{name}: {len(ids)} headings and no contents'
            assert re.findall(r'href="#([^"]+)"', toc.group(0)) == ids, name
    assert long_pages >= 20


@pytest.mark.parametrize('width', [420, 1400])
def test_layout_reads_at_phone_and_desktop_widths(site, server, browser, tmp_path_factory, width):
    "No page scrolls sideways; the text column is wide enough to read; the sidebar folds behind a button on a phone. Screenshots go to tmp."
    from selenium.webdriver.common.by import By
    _, pages = site
    shots = tmp_path_factory.mktemp(f'screenshots-{width}')
    browser.set_window_size(width, 900)
    bad = []
    for p in pages:
        browser.get(urljoin(server, p['page']))
        inner = browser.execute_script('return window.innerWidth')
        doc, main_w, side, toc = browser.execute_script('''return [document.documentElement.scrollWidth,
            document.querySelector('main').getBoundingClientRect().width,
            document.querySelector('nav.sidebar').getBoundingClientRect().width,
            (document.querySelector('aside.toc') || {getBoundingClientRect: () => ({width: -1})}).getBoundingClientRect().width]''')
        if doc > inner + 1: bad.append(f"{p['page']}: the page is {doc} px wide in a {inner} px window")
        if main_w < min(0.85 * inner, 600): bad.append(f"{p['page']}: the text column is {main_w:.0f} px in a {inner} px window")
        if width == 420 and side > 0: bad.append(f"{p['page']}: the sidebar shows on a phone ({side:.0f} px)")
        if width == 1400 and side < 200: bad.append(f"{p['page']}: no sidebar at 1,400 px")
        if width == 1400 and toc == 0: bad.append(f"{p['page']}: its contents do not show beside the text at 1,400 px")
        if p['page'] in ('index.html', 'hypernet.html', 'paper/table3.html'):
            browser.save_screenshot(str(shots/(p['page'].replace('/', '_') + '.png')))
    if width == 420:
        browser.get(urljoin(server, 'hypernet.html'))
        browser.find_element(By.CSS_SELECTOR, 'label.nav-button').click()
        assert browser.execute_script('return document.querySelector("nav.sidebar").getBoundingClientRect().width') > 300
        browser.save_screenshot(str(shots/'hypernet_menu_open.png'))
    print(f'screenshots at {width} px: {shots}')
    assert not bad, '\n'.join(bad)


def test_tables_fit_and_are_whole(site, server, browser):
    """The paper pages' and the index's tables are whole: no column left out by pandas ('...' in the header), no cell text
    cut ('abc...'). Long tables may show their first and last rows (pandas' row limit): all rows are in the item's CSV.
    That tables fit the text column (they scroll inside it, not the page) the layout test checks at two widths."""
    _, pages = site
    browser.set_window_size(1400, 900)
    cut = []
    for p in pages:
        if not (p['page'].startswith('paper/') or p['page'] == 'index.html'): continue
        browser.get(urljoin(server, p['page']))
        cut += [f"{p['page']}: {c}" for c in browser.execute_script('''
            const tables = Array.from(document.querySelectorAll('main table'));
            const head = tables.flatMap(t => Array.from(t.querySelectorAll('thead th'))).map(c => c.textContent.trim()).filter(s => s === '...');
            const cells = tables.flatMap(t => Array.from(t.querySelectorAll('td, tbody th'))).map(c => c.textContent.trim()).filter(s => /\\w\\.\\.\\.$/.test(s));
            return head.map(s => 'a column left out').concat(cells).slice(0, 3)''')]
    assert not cut, 'tables cut by pandas:\n' + '\n'.join(cut)
    browser.get(urljoin(server, 'paper/table3.html'))
    cols = browser.execute_script('return Array.from(document.querySelectorAll("main table")).map(t => t.rows[0].cells.length)')
    print('Table 3 page, columns per table:', cols)
    assert max(cols) <= 18, 'Table 3\'s page shows the reader\'s tables; every run\'s columns stay in table3.csv'


def test_code_is_highlighted(site, server, browser):
    "nbconvert's Pygments spans get colours (site.css carries Pygments' rules)."
    out, _ = site
    assert '.highlight .k ' in (out/'site.css').read_text()
    browser.get(urljoin(server, 'hypernet.html'))
    kw, name = browser.execute_script('''const k = document.querySelector('main .highlight .k'), n = document.querySelector('main .highlight .n');
        return [getComputedStyle(k).color, getComputedStyle(n).color]''')
    assert kw != name, f'keywords ({kw}) coloured like names ({name})'


def test_rebuild_is_byte_identical(site, tmp_path_factory):
    "Building again from the same inputs gives the same bytes, file for file."
    out, _ = site
    again = tmp_path_factory.mktemp('site2')/'_site'
    build_site.build(again, 'quick')
    a = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob('*') if p.is_file()}
    b = {str(p.relative_to(again)): p.read_bytes() for p in again.rglob('*') if p.is_file()}
    assert sorted(a) == sorted(b)
    differ = [k for k in a if a[k] != b[k]]
    assert not differ, f'files that differ between two builds: {differ}'
