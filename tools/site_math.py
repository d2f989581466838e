"""TeX in the notebooks' Markdown to MathML at build time, for the docs site (tools/build_site.py).

Quarto gives nbdev's sites MathJax from a CDN; this site fetches nothing at view time. `latex2mathml`
(pinned in requirements.lock) turns each `$...$` and `$$...$$` span into a `<math>` element, which
Chromium, Firefox and Safari render natively. Spans inside code (fenced blocks, backtick spans) are
left alone. A span latex2mathml can't convert is shown as its TeX source in a `<code class="tex-error">`
element with the error as its title: marked, never blank.

Conversion happens in two steps around nbconvert's Markdown renderer, which would otherwise mangle the
MathML: `protect` swaps each span for a placeholder word, `restore` swaps the placeholders in the
rendered HTML for the MathML (inside a tag's attributes, such as a heading's id, for plain text).
"""
import html, re

# Pandoc's rule for inline math: the opening `$` is not followed by a space, the closing one is not
# preceded by a space nor followed by a digit ("$5 and $6" is not math). `$$...$$` may span lines.
MATH = re.compile(r'(?<![\\$])\$\$(.+?)\$\$|(?<![\\$])\$(?![\s$])([^$\n]+?)(?<![\s\\])\$(?![\d$])', re.S)
# What Markdown shows verbatim: fenced blocks (``` or ~~~) and backtick spans of any length.
CODE = re.compile(r'(?ms)^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$|(`+)(?!`).+?(?<!`)\2(?!`)')
TOKEN = re.compile(r'EDGENESMATH(\d+)X', re.I)
# What latex2mathml 3.81 gets wrong, rewritten first: `\arg` comes out as the literal text "\arg", `\sim` as "~".
MACROS = {r'\arg': r'\operatorname{arg}', r'\sim': r'\thicksim'}
UNKNOWN = re.compile(r'>[^<]*(\\[A-Za-z]+)[^<]*<')     # a command latex2mathml passed through as text


def to_mathml(tex: str, display: bool = False) -> str:
    "`tex` as a `<math>` element, or its source marked as a TeX error when latex2mathml can't convert it."
    from latex2mathml.converter import convert
    src = tex.strip()
    for k, v in MACROS.items(): src = re.sub(re.escape(k) + r'(?![A-Za-z])', lambda m: v, src)
    try:
        if len(re.findall(r'(?<!\\)\{', src)) != len(re.findall(r'(?<!\\)\}', src)): raise ValueError('unbalanced braces')
        out = convert(src, display='block' if display else 'inline')
        if (u := UNKNOWN.search(out)): raise ValueError(f'unknown command {u.group(1)}')
        return out
    except Exception as e:     # latex2mathml raises many kinds (its own, KeyError, IndexError) on bad or unknown TeX
        delim = '$$' if display else '$'
        return (f'<code class="tex-error" title="{html.escape(f"TeX not rendered ({type(e).__name__}: {e})", quote=True)}">'
                f'{html.escape(delim + tex + delim)}</code>')


def protect(md: str, store: list) -> str:
    "`md` with each math span outside code replaced by a placeholder word; the spans' HTML is appended to `store`."
    def math(m):
        store.append(to_mathml(m.group(1) or m.group(2), display=m.group(1) is not None))
        return f'EDGENESMATH{len(store) - 1}X'
    out, last = [], 0
    for c in CODE.finditer(md):
        out += [MATH.sub(math, md[last:c.start()]), c.group(0)]
        last = c.end()
    return ''.join(out + [MATH.sub(math, md[last:])])


def plain(mathml: str) -> str:
    "The text of a converted span, for places that take no markup (attributes)."
    return re.sub(r'\s+', ' ', html.unescape(re.sub(r'<[^>]+>', ' ', mathml))).strip()


def restore(body: str, store: list) -> str:
    "Rendered HTML with the placeholders of `protect` swapped for their MathML (plain text inside a tag)."
    body = re.sub(r'<[^>]*>', lambda t: TOKEN.sub(lambda m: html.escape(plain(store[int(m.group(1))]), quote=True), t.group(0)), body)
    return TOKEN.sub(lambda m: store[int(m.group(1))], body)
