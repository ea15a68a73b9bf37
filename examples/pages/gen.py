#!/usr/bin/python3
"""Regenerates the demo's pages: cd examples/pages && /usr/bin/python3 gen.py

stcn_yw.html is a 证券时报网 要闻 column page (kind: html) in GBK, which says so
only in its <meta>; two of its stories are also in ../feeds/stcn.xml (the same
links), so the demo shows them once. eastmoney_list.json is Eastmoney's list
API answer (kind: json); articles/{infocode}.json its body API's answers, read
from disk as the items' full text. The texts are invented."""

import json

YW = [
    ("/article/detail/1000002.html", "央行开展2000亿元逆回购操作", "人民银行今日开展2000亿元7天期逆回购操作，中标利率持平。", "2026-11-26 09:15"),
    ("/article/detail/1000003.html", "北向资金净买入超50亿元", "北向资金全天净买入52.3亿元，电子、医药获加仓。", "2026-11-26 08:50"),
    ("/article/detail/1000010.html", "证监会：推动中长期资金入市", "证监会表示，将推动中长期资金入市，提升上市公司质量。", "2026-11-26 08:15"),
    ("/article/detail/1000011.html", "11月LPR报价出炉 均维持不变", "1年期LPR为3.0%，5年期以上LPR为3.5%。", "2026-11-25 09:20"),
]

items = "\n".join(
    f"""  <li>
    <div class="tt"><a href="https://www.stcn.com{link}" target="_blank">{title}</a></div>
    <div class="text">{text}</div>
    <div class="info"><span class="time">{time}</span></div>
  </li>""" for link, title, text, time in YW)
page = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>要闻_证券时报网</title>
</head>
<body>
<div class="main">
<ul class="list">
{items}
  <li class="ad"><div class="tt"><span>【推广】开户送好礼</span></div></li>
</ul>
</div>
</body>
</html>
"""
with open("stcn_yw.html", "wb") as f:
    f.write(page.encode("gbk"))

NODES = [
    ("202611263571234567", "A股三大指数集体高开 创业板指涨1%", "证券时报网", "2026-11-26 09:30:00",
     "<p>A股三大指数集体高开，创业板指涨1%，券商、半导体板块领涨。</p><p>两市成交额较昨日同期放量。</p>"),
    ("202611263571234566", "多家券商上调年末目标点位", "中国证券报", "2026-11-26 08:05:00",
     "<p>多家券商发布策略报告，上调年末沪指目标点位。</p><p class=\"em_media\">（文章来源：中国证券报）</p>"),
    ("202611253570987654", "人民币汇率小幅走强", "", "2026-11-25 16:20:00",
     "<p>在岸人民币对美元汇率小幅走强。</p><p class=\"em_media\">（文章来源：上海证券报）</p>"),
]
nodes = [{"title": t, "from": frm, "infocode": code, "showtime": when} for code, t, frm, when, _ in NODES]
with open("eastmoney_list.json", "w") as f:
    json.dump({"re": True, "nodeList": nodes}, f, ensure_ascii=False)
for code, _, _, _, body in NODES:
    with open(f"articles/{code}.json", "w") as f:
        json.dump({"text": body}, f, ensure_ascii=False)
