#!/usr/bin/python3
"""Regenerates the charset fixtures: cd feeds/charset/testdata && /usr/bin/python3 gen.py"""

RSS = """<rss version="2.0"><channel><title>证券时报网</title><item><title>{title}</title></item></channel></rss>
"""


def doc(decl, title="沪指涨0.35%"):
    head = '<?xml version="1.0" encoding="%s"?>\n' % decl if decl else ""
    return head + RSS.format(title=title)


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


# (a) GBK bytes, declaration says gb2312, no HTTP charset.
write("gbk_decl_gb2312.xml", doc("gb2312").encode("gbk"))
# (b) GBK bytes, no XML declaration at all.
write("gbk_nodecl.xml", doc(None).encode("gbk"))
# (c) Labelled gb2312 but holds GB18030 four-byte sequences:
#     U+20000 (95 32 82 36) and U+4DB5 (82 35 87 38); also U+4DAE (FE 9F).
write("gb18030_4byte.xml", doc("gb2312", "\U00020000䶵䶮").encode("gb18030"))
# (f) GBK bytes whose declaration says gbk (served as utf-8).
write("gbk_decl_gbk.xml", doc("gbk").encode("gbk"))
# (e) UTF-8 with BOM; UTF-16 LE and BE with BOM (declaration says UTF-16).
write("utf8_bom.xml", b"\xef\xbb\xbf" + doc("UTF-8").encode("utf-8"))
write("utf16le_bom.xml", b"\xff\xfe" + doc("UTF-16").encode("utf-16-le"))
write("utf16be_bom.xml", b"\xfe\xff" + doc("UTF-16").encode("utf-16-be"))
# (h) UTF-8 with two stray bytes in the middle of the title.
good = doc("utf-8", "沪指XX涨").encode("utf-8")
write("utf8_invalid.xml", good.replace(b"XX", b"\xff\xfe"))
# (j) Valid UTF-8 whose declaration lies and says gbk.
write("utf8_decl_gbk.xml", doc("gbk").encode("utf-8"))

# (g) HTML pages in GBK that say so only in <meta>: <meta charset> and the
#     older http-equiv form (no quotes, no space before charset).
PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<!-- <meta charset="utf-8"> in a comment does not count -->
{meta}
<title>证券时报网</title>
</head>
<body><ul class="list"><li><a href="/article/detail/1.html">沪指涨0.35%</a></li></ul></body>
</html>
"""
write("gbk_meta.html", PAGE.format(meta='<meta charset="gbk">').encode("gbk"))
write("gbk_meta_http_equiv.html",
      PAGE.format(meta='<meta http-equiv=Content-Type content="text/html;charset=gb2312">').encode("gbk"))
