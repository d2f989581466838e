"""The docs site's page: sidebar, search box, "on this page" contents, previous/next links, styles (tools/build_site.py).

What Quarto's nbdev theme gives a page, as static HTML and one small script (`site.js`, the search):
- the sidebar of `nbs/sidebar.yml`, folded behind a "Pages" button below 800 px (a checkbox, no script);
- "On this page": the page's h2/h3 headings, beside the text from 1,250 px, above it below;
- previous/next links in sidebar order at the foot;
- Pygments' colours for the highlighted code nbconvert emits.
"""
import html, re

from site_math import protect, restore


def inline_code(text: str) -> str:
    "Escape `text` for HTML and render its `backticked` spans as <code> and its TeX as MathML, as Markdown would."
    store = []
    text = re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(protect(text, store)))
    return restore(text, store)


def headings(body: str) -> list:
    "[(level, id, text)] of the body's h2 and h3 headings, in order."
    out = []
    for m in re.finditer(r'<h([23])\b[^>]*\bid="([^"]+)"[^>]*>(.*?)</h\1>', body, re.S):
        text = re.sub(r'<a class="anchor-link".*?</a>', '', m.group(3), flags=re.S)
        text = re.sub(r'<(?!/?(?:code|math|mi|mo|mn|mrow|msub|msup|mfrac|mtext|mover|munder|msubsup)\b)[^>]+>', '', text).strip()
        if text: out.append((int(m.group(1)), m.group(2), text))
    return out


def toc_html(body: str, min_headings: int = 3) -> tuple:
    "(beside, inline): the page's contents list for wide screens and for narrow ones; empty on short pages."
    hs = headings(body)
    if len(hs) < min_headings: return '', ''
    items = '\n'.join(f'<li class="toc-h{lvl}"><a href="#{i}">{t}</a></li>' for lvl, i, t in hs)     # ids as the body has them (escaped)
    return (f'<aside class="toc"><p class="toc-title">On this page</p><ul>{items}</ul></aside>',
            f'<details class="toc-inline"><summary>On this page</summary><ul>{items}</ul></details>')


def nav_html(entries: list, here: str, titles: dict, page_name) -> str:
    "The sidebar: home link, search box, the pages of `nbs/sidebar.yml` by section, the current one marked."
    up = '../' * here.count('/')
    out, section = [f'<nav class="sidebar" aria-label="Pages"><a class="home" href="{up}index.html">edgenes</a>'
                    '<div class="search"><input type="search" id="search-box" placeholder="Search the docs" '
                    'aria-label="Search the docs" autocomplete="off"><ol id="search-results" hidden></ol></div><ul>'], None
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


def pager_html(order: list, here: str, titles: dict) -> str:
    "Previous and next pages in sidebar order."
    i, up = order.index(here), '../' * here.count('/')
    prev = (f'<a class="prev" rel="prev" href="{up}{order[i-1]}"><span>Previous</span>{html.escape(titles[order[i-1]])}</a>'
            if i > 0 else '<span></span>')
    nxt = (f'<a class="next" rel="next" href="{up}{order[i+1]}"><span>Next</span>{html.escape(titles[order[i+1]])}</a>'
           if i + 1 < len(order) else '<span></span>')
    return f'<nav class="pager" aria-label="Previous and next page">{prev}{nxt}</nav>'


def page(title: str, desc: str, nav: str, body: str, here: str, pager: str = '') -> str:
    "One page of the site."
    up = '../' * here.count('/')
    beside, inline = toc_html(body)
    head = f'<h1 class="title">{html.escape(title)}</h1>' + (f'<p class="description">{inline_code(desc)}</p>' if desc else '')
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} – edgenes</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><link rel="stylesheet" href="{up}site.css"></head>\n'
            f'<body data-root="{up}"><input type="checkbox" id="nav-toggle" class="nav-toggle">'
            f'<header class="topbar"><label for="nav-toggle" class="nav-button">&#9776; Pages</label>'
            f'<a class="home" href="{up}index.html">edgenes</a></header>\n'
            f'{nav}\n<div class="page"><main>{head}\n{inline}\n{body}\n{pager}</main>{beside}</div>'
            f'<script src="{up}site.js"></script></body></html>\n')


def css() -> str:
    "The site's stylesheet: layout, the three widths, and Pygments' colours for `.highlight`."
    from pygments.formatters import HtmlFormatter
    return CSS + '\n/* Pygments (style "default"), for nbconvert\'s highlighted code */\n' + HtmlFormatter(style='default').get_style_defs('.highlight') + '\n'


CSS = """
body { margin: 0; font-family: system-ui, sans-serif; line-height: 1.5; color: #222; display: flex; }
.nav-toggle, .topbar { display: none; }
nav.sidebar { width: 17rem; flex: none; height: 100vh; position: sticky; top: 0; overflow-y: auto;
              padding: 1rem; box-sizing: border-box; background: #f6f7f9; border-right: 1px solid #ddd; font-size: 0.9rem; }
nav.sidebar ul { list-style: none; padding-left: 0.6rem; margin: 0.2rem 0; }
nav.sidebar li.section > span { font-weight: 600; display: block; margin-top: 0.6rem; }
nav.sidebar li.current > a { font-weight: 700; }
nav.sidebar a, aside.toc a, .pager a, .toc-inline a { text-decoration: none; color: #1a5fb4; }
a.home { font-size: 1.3rem; font-weight: 700; text-decoration: none; color: #1a5fb4; }
.search { margin: 0.6rem 0; position: relative; }
.search input { width: 100%; box-sizing: border-box; padding: 0.3rem 0.5rem; font: inherit; border: 1px solid #bbb; border-radius: 4px; }
#search-results { list-style: none; margin: 0.3rem 0; padding: 0; background: #fff; border: 1px solid #ddd; border-radius: 4px;
                  max-height: 60vh; overflow-y: auto; }
#search-results li { padding: 0.3rem 0.5rem; border-bottom: 1px solid #eee; }
#search-results li.active { background: #e8f0fb; }
#search-results .where { display: block; font-size: 0.8rem; color: #666; }
.page { flex: 1; min-width: 0; display: flex; }
main { flex: 1; min-width: 0; padding: 1.5rem 2.5rem; max-width: 62rem; }
aside.toc { width: 14rem; flex: none; position: sticky; top: 0; align-self: flex-start; max-height: 100vh; overflow-y: auto;
            padding: 1.5rem 1rem 1rem 0; box-sizing: border-box; font-size: 0.85rem; }
aside.toc ul, .toc-inline ul { list-style: none; padding-left: 0; margin: 0; }
.toc-title { font-weight: 600; margin: 0 0 0.4rem; }
li.toc-h3 { padding-left: 0.9rem; }
.toc-inline { display: none; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
.toc-inline summary { cursor: pointer; font-weight: 600; }
.pager { display: flex; justify-content: space-between; gap: 1rem; margin-top: 3rem; padding-top: 1rem; border-top: 1px solid #ddd; }
.pager a { display: block; max-width: 48%; }
.pager a.next { text-align: right; margin-left: auto; }
.pager a span { display: block; font-size: 0.8rem; color: #666; }
pre { background: #f4f4f4; padding: 0.6rem; overflow-x: auto; font-size: 0.85rem; }
code { font-size: 0.9em; }
.output_area pre { background: #fbfbfb; border-left: 3px solid #d0d7de; }
.output_stderr pre { background: #fff5f5; }
table { border-collapse: collapse; font-size: 0.85rem; display: block; overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; }
img { max-width: 100%; height: auto; }
math[display="block"] { margin: 0.8rem 0; overflow-x: auto; overflow-y: hidden; }
code.tex-error { color: #a40000; background: #fff0f0; border-bottom: 1px dashed #a40000; }
.description { font-size: 1.15rem; color: #555; }
.anchor-link { display: none; }
@media (max-width: 1250px) {
  aside.toc { display: none; }
  .toc-inline { display: block; }
}
@media (max-width: 800px) {
  body { display: block; }
  .topbar { display: flex; align-items: center; gap: 1rem; padding: 0.5rem 1rem; background: #f6f7f9; border-bottom: 1px solid #ddd;
            position: sticky; top: 0; z-index: 2; }
  .nav-button { cursor: pointer; padding: 0.2rem 0.6rem; border: 1px solid #bbb; border-radius: 4px; background: #fff; }
  nav.sidebar { display: none; width: 100%; height: auto; position: static; border-right: none; border-bottom: 1px solid #ddd; }
  .nav-toggle:checked ~ nav.sidebar { display: block; }
  nav.sidebar a.home { display: none; }
  main { padding: 1rem; }
  h1.title { font-size: 1.6rem; }
}
"""
