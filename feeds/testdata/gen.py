#!/usr/bin/python3
"""Regenerates the feeds/testdata fixtures: cd feeds/testdata && /usr/bin/python3 gen.py

stcn.xml, cnstock.atom and eastmoney.json are byte-for-byte copies of
examples/feeds/ (stcn.xml is GBK and declares gb2312)."""


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


# The GBK example without its XML declaration: only HTTP can tell.
stcn = open("stcn.xml", "rb").read()
write("stcn_nodecl.xml", stcn[stcn.index(b"<rss"):])

# Relative links and hostile HTML, no xml:base: the feed URL is the base.
write("relative.rss", """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
<channel>
<title>相对链接 &amp; 净化</title>
<link>/news/</link>
<item>
<title><![CDATA[<b>标题</b>   带<i>标记</i> &amp; 空白]]></title>
<link>detail/7.html</link>
<description><![CDATA[<p onclick="x()">正文<img src="img/a.png" onerror="steal()"><a href="../other.html">相关</a><a href="javascript:evil()">点击</a></p><script>alert(1)</script><iframe src="https://evil.example/"></iframe><span style="color:red">红</span>]]></description>
</item>
<item>
<link>/news/detail/8.html</link>
<description><![CDATA[<p>没有标题的条目正文</p>]]></description>
</item>
</channel>
</rss>
""".encode("utf-8"))

# xml:base on the channel and on one item.
write("xmlbase.rss", """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
<channel xml:base="https://base.example/dir/">
<title>xml:base</title>
<item><title>one</title><link>one.html</link></item>
<item xml:base="https://items.example/sub/"><title>two</title><link>two.html</link></item>
</channel>
</rss>
""".encode("utf-8"))

# Identity: guid, else normalized link, else a hash of title and date.
write("identity.rss", """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
<channel>
<title>identity</title>
<link>https://example.com/</link>
<item><title>guid</title><guid isPermaLink="false">abc-1</guid><link>https://example.com/a.html</link></item>
<item><title>link</title><link>HTTPS://News.Example.COM:443/a/B.html#comments</link></item>
<item><title>same link again</title><link>https://news.example.com/a/B.html#top</link></item>
<item><title>relative</title><link>/rel.html</link></item>
<item><title>bare</title><pubDate>2026-11-26 09:30:00</pubDate></item>
<item><title>bare</title><pubDate>2026-11-26 09:31:00</pubDate></item>
<item><title>other bare</title><pubDate>2026-11-26 09:30:00</pubDate></item>
</channel>
</rss>
""".encode("utf-8"))

# Not feeds.
write("page.html", """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>证券时报网</title></head>
<body><p>页面已迁移</p></body></html>
""".encode("utf-8"))
write("error.json", b'{"error":"x"}\n')

# A feed cut off in the middle of an item.
whole = open("identity.rss", "rb").read()
write("truncated.xml", whole[: whole.index(b"<item><title>link")+20])
