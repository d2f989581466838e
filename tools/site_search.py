"""Search for the docs site: a static index written at build time and a small script (tools/build_site.py).

The index (`search_index.js`) has one entry per section of each page: the page's title, the section's
heading and its prose (code left out, outputs included), as a script that sets `window.EDGENES_SEARCH`,
so that it loads from `file://` as well as from a server (a `fetch` of JSON does not). The page's script
(`site.js`) loads it on the first keystroke, ranks entries by where the words occur (title, then heading,
then text; every word must occur), and lists the best 12 under the box; Enter opens the first result.
"""
import html, json, re

from site_page import headings

CODE = re.compile(r'(?s)<div class="input">.*?</div>\s*</div>\s*</div>|<pre\b.*?</pre>')


def text_of(fragment: str) -> str:
    "Visible text of an HTML fragment without its code, whitespace collapsed."
    t = CODE.sub(' ', fragment)
    t = re.sub(r'(?s)<(script|style)\b.*?</\1>', ' ', t)
    t = re.sub(r'<[^>]+>', ' ', t)
    return re.sub(r'\s+', ' ', html.unescape(t)).strip()


def page_entries(page: str, title: str, body: str, max_chars: int = 4000) -> list:
    "One entry for the top of the page and one per h2/h3 section: {u: url, t: page title, h: heading, x: text}."
    marks = [(m.start(), m.group(1)) for m in re.finditer(r'<h[23]\b[^>]*\bid="([^"]+)"', body)]
    names = {i: re.sub(r'<[^>]+>', '', t) for _, i, t in headings(body)}
    cuts = [(0, None)] + marks + [(len(body), None)]
    out = []
    for (a, anchor), (b, _) in zip(cuts, cuts[1:]):
        x = text_of(body[a:b])
        if not x and anchor is not None: continue
        out.append({'u': page + (f'#{anchor}' if anchor else ''), 't': title,
                    'h': html.unescape(names.get(anchor, '')) if anchor else '', 'x': x[:max_chars]})
    return out


def index_js(entries: list) -> str:
    "The index as a script (deterministic: entries in page order, keys sorted)."
    return 'window.EDGENES_SEARCH = ' + json.dumps(entries, ensure_ascii=False, sort_keys=True, separators=(',', ':')) + ';\n'


SITE_JS = r"""// edgenes docs: search over search_index.js (built with the site); no network, works from file:// too.
(function () {
  var box = document.getElementById('search-box'), list = document.getElementById('search-results');
  if (!box) return;
  var root = document.body.getAttribute('data-root') || '';
  function load(then) {
    if (window.EDGENES_SEARCH) return then();
    var s = document.createElement('script'); s.src = root + 'search_index.js'; s.onload = then; document.head.appendChild(s);
  }
  function esc(s) { return s.replace(/[&<>"]/g, function (c) { return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]; }); }
  function count(hay, w) { var n = 0, i = hay.indexOf(w); while (i >= 0) { n++; i = hay.indexOf(w, i + w.length); } return n; }
  function rank(q) {
    var words = q.toLowerCase().split(/\s+/).filter(Boolean), hits = [];
    if (!words.length) return hits;
    window.EDGENES_SEARCH.forEach(function (e, k) {
      var t = e.t.toLowerCase(), h = e.h.toLowerCase(), x = e.x.toLowerCase(), score = 0;
      for (var i = 0; i < words.length; i++) {
        var w = words[i], n = count(x, w), s = (t.indexOf(w) >= 0 ? 40 : 0) + (h.indexOf(w) >= 0 ? 15 : 0) + Math.min(n, 10);
        if (!s) return;
        score += s;
      }
      if (!e.h) score += 5;                       // a page's top before its sections
      hits.push([score, -k, e]);
    });
    hits.sort(function (a, b) { return b[0] - a[0] || b[1] - a[1]; });
    return hits.slice(0, 12).map(function (h) { return h[2]; });
  }
  function snippet(x, q) {
    var w = q.toLowerCase().split(/\s+/).filter(Boolean)[0] || '', i = Math.max(0, x.toLowerCase().indexOf(w) - 40);
    return (i > 0 ? '…' : '') + x.slice(i, i + 120) + '…';
  }
  function show() {
    var q = box.value.trim();
    if (!q) { list.hidden = true; list.innerHTML = ''; return; }
    load(function () {
      var r = rank(q);
      list.innerHTML = r.length ? r.map(function (e, i) {
        return '<li' + (i ? '' : ' class="active"') + '><a href="' + root + e.u + '">' + esc(e.t) + (e.h ? ' › ' + esc(e.h) : '') +
               '</a><span class="where">' + esc(snippet(e.x, q)) + '</span></li>';
      }).join('') : '<li>No results</li>';
      list.hidden = false;
    });
  }
  box.addEventListener('input', show);
  box.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter') load(function () { var r = rank(box.value.trim()); if (r.length) window.location.href = root + r[0].u; });
    if (ev.key === 'Escape') { box.value = ''; show(); }
  });
})();
"""
