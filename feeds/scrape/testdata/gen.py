#!/usr/bin/python3
"""Regenerates the scrape fixtures: cd feeds/scrape/testdata && /usr/bin/python3 gen.py

The shapes are the real sites' (issue 13): 证券时报网 column pages list <a> links
under .tt / .title / .t in ul.list > li with .time and .text; the same list as
JSON {"data":[{title, content, time (unix s), url, tags:[{name}], source}]};
Eastmoney's list API {"nodeList":[{title, from, infocode, showtime}]}. The
titles and texts are invented."""

import datetime
import json

CST = datetime.timezone(datetime.timedelta(hours=8))


def write(name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(name, "wb") as f:
        f.write(data)


def unix(s):
    return int(datetime.datetime.strptime(s, "%Y-%m-%d %H:%M").replace(tzinfo=CST).timestamp())


HEAD = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="{charset}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/static/css/list.css">
</head>
<body>
<div class="header">
  <a class="logo" href="/"><img src="/static/img/logo.png" alt="证券时报网"></a>
  <ul class="nav">
    <li><a href="/">首页</a></li>
    <li><a href="/article/list.html?type=yw">要闻</a></li>
    <li><a href="/article/list.html?type=kx">快讯</a></li>
    <li><a href="/article/list.html?type=company">公司</a></li>
  </ul>
</div>
<div class="main">
<div class="breadcrumb"><a href="/">首页</a> &gt; {column}</div>
"""

FOOT = """</div>
<div class="footer">
  <p>证券时报网版权所有，未经书面授权禁止使用</p>
  <p><a href="/about/">关于我们</a> | <a href="/contact/">联系我们</a></p>
</div>
<script src="/static/js/list.js"></script>
<script>var _hmt = _hmt || [];</script>
</body>
</html>
"""

YW = [
    ("/article/detail/1764521.html", "央行：保持流动性合理充裕 加大逆周期调节力度",
     "中国人民银行11月26日发布公告称，将继续实施好稳健的货币政策，保持流动性合理充裕。", "2026-11-26 09:30"),
    ("https://www.stcn.com/article/detail/1764520.html", "沪指午后翻红 券商板块集体走强",
     "午后A股三大指数震荡回升，沪指翻红，券商、保险板块领涨。", "2026-11-26 13:42"),
    ("/article/detail/1764519.html", "证监会：推动中长期资金入市 提升上市公司质量",
     None, "2026-11-26 08:15"),
    ("detail/1764518.html", "11月LPR报价出炉：1年期和5年期以上品种均维持不变",
     "11月贷款市场报价利率（LPR）报价出炉，1年期LPR为3.0%，5年期以上LPR为3.5%。", "2026-11-25 09:20"),
    ("/article/detail/1764517.html", "北向资金净买入超50亿元 电子、医药获加仓",
     "北向资金全天净买入52.3亿元，电子、医药生物行业获加仓居前。", "2026-11-25 15:08"),
]


def yw_item(link, title, text, time, hot=False):
    t = title if not hot else title.replace("券商", "<em>券商</em>")
    out = f"""<li>
  <div class="content">
    <div class="tt"><a href="{link}" target="_blank">{t}</a></div>
"""
    if text is not None:
        out += f"""    <div class="text ellipsis-2">{text}</div>
"""
    out += f"""    <div class="info"><span class="source">证券时报网</span><span class="time">{time}</span></div>
  </div>
  <div class="side"><a href="{link}" target="_blank"><img src="//static.stcn.com/upload/{link[-12:-5]}.jpg" alt=""></a></div>
</li>
"""
    return out


def yw_page():
    body = HEAD.format(charset="utf-8", title="要闻_证券时报网", column="要闻")
    body += '<ul class="list infinite-list">\n'
    for i, (link, title, text, time) in enumerate(YW):
        body += yw_item(link, title, text, time, hot=(i == 1))
        if i == 2:
            # An advertisement in the list: no .tt, so no link.
            body += '<li class="ad"><a href="https://ad.example.com/click?id=9"><img src="/static/ad/banner.png" alt="广告"></a></li>\n'
    body += "</ul>\n"
    body += FOOT
    return body


write("stcn_yw.html", yw_page())

# The same column after a redesign: the items are no longer ul.list > li.
redesign = HEAD.format(charset="utf-8", title="要闻_证券时报网", column="要闻")
redesign += '<div class="news-list">\n'
for link, title, text, time in YW[:3]:
    redesign += f'<div class="news-item"><h3><a href="{link}">{title}</a></h3><p>{text or ""}</p><span>{time}</span></div>\n'
redesign += "</div>\n" + FOOT
write("stcn_yw_redesign.html", redesign)

# 快讯: links under .title, dates without a year ("11-26 09:41").
KX = [
    ("/article/detail/1764530.html", "A股三大指数集体高开，创业板指涨1%", "11-26 09:30"),
    ("/article/detail/1764529.html", "工信部：加快推进5G-A规模化部署", "11-26 09:12"),
    ("/article/detail/1764528.html", "国际金价站上2700美元/盎司 年内涨超30%", "11-26 08:47"),
    ("/article/detail/1764527.html", "离岸人民币对美元日内升值逾200点", "11-25 22:05"),
]
kx = HEAD.format(charset="utf-8", title="快讯_证券时报网", column="快讯")
kx += '<ul class="list kx-list">\n'
for link, title, time in KX:
    kx += f"""<li>
  <div class="time">{time}</div>
  <div class="title"><a href="{link}" target="_blank">【{title}】</a></div>
</li>
"""
kx += "</ul>\n" + FOOT
write("stcn_kx.html", kx)

# 公司: links under .t, Chinese dates, several tags, the original publisher.
COMPANY = [
    ("/article/detail/1764540.html", "宁德时代：拟在匈牙利建设第二座电池工厂", "2026年11月26日 09:30",
     ["公司", "新能源", "动力电池"], "证券时报网", "宁德时代11月25日晚间公告，拟投资建设匈牙利第二工厂。"),
    ("/article/detail/1764541.html", "贵州茅台：三季度营收同比增长15.6%", "2026年11月25日 20:05",
     ["公司", "白酒"], "券商中国", "贵州茅台披露三季报，营收和净利润保持两位数增长。"),
    ("/article/detail/1764542.html", "比亚迪11月新能源汽车销量再创新高", "2026年11月25日 18:40",
     [], "e公司", "比亚迪公告，11月新能源汽车销量超过50万辆。"),
]


def company_page(charset, extra=None):
    page = HEAD.format(charset=charset, title="公司_证券时报网", column="公司")
    page += '<ul class="list">\n'
    rows = COMPANY + (extra or [])
    for link, title, time, tags, source, text in rows:
        tag_html = "".join(f'<a href="/tag/{t}.html">{t}</a>' for t in tags)
        page += f"""<li>
  <div class="t"><a href="{link}" target="_blank">{title}</a></div>
  <div class="text">{text}</div>
  <div class="info"><span class="source">来源：{source}</span><span class="time">{time}</span></div>
  <div class="tags">{tag_html}</div>
</li>
"""
    page += "</ul>\n" + FOOT
    return page


write("stcn_company.html", company_page("utf-8"))

# GBK, declared only in <meta charset>; 镕 is GBK but not GB 2312, and 𠮷 is
# a GB18030 four-byte sequence (servers labelled gbk send those too).
gbk_extra = [("/article/detail/1764543.html", "𠮷野家母公司拟增资中国子公司 朱镕基时期老厂房改建", "2026年11月25日 16:00",
              ["公司", "餐饮"], "证券时报网", "公司公告称，将向中国子公司增资。")]
write("stcn_company_gbk.html", company_page("gbk", gbk_extra).encode("gb18030"))

# The same 要闻 list as the site's JSON answer (X-Requested-With: XMLHttpRequest).
data = []
for i, (link, title, text, time) in enumerate(YW):
    item = {
        "id": 1764521 - i,
        "title": title,
        "content": f"<p>{text}</p>" if text else "",
        "time": unix(time),
        "url": link if not link.startswith("detail/") else "/article/" + link,
        "tags": [{"name": "要闻"}, {"name": ["货币政策", "市场", "监管", "利率", "北向资金"][i]}],
        "source": "证券时报网" if i != 1 else "券商中国",
    }
    if i == 2:
        del item["content"]  # a missing field
    data.append(item)
data.append({"id": 0, "title": "无链接的条目", "content": "<p>没有链接也没有编号</p>", "time": unix("2026-11-25 10:00"),
             "tags": [], "source": "证券时报网"})
write("stcn_list.json", json.dumps({"state": 1, "msg": "success", "data": data}, ensure_ascii=False, indent=1))

# Eastmoney's list API.
nodes = [
    {"title": "A股三大指数集体高开 创业板指涨1%", "from": "证券时报网", "infocode": "202611263571234567",
     "showtime": "2026-11-26 09:30:00", "digest": "A股三大指数集体高开。"},
    {"title": "多家券商上调年末目标点位", "from": "中国证券报", "infocode": "202611263571234566",
     "showtime": "2026-11-26 08:05:00", "digest": ""},
    {"title": "人民币汇率小幅走强", "from": "", "infocode": "202611253570987654",
     "showtime": "2026-11-25 16:20:00"},
    {"title": "一条没有编号的资讯", "from": "东方财富网", "showtime": "2026-11-25 15:00:00"},
]
write("eastmoney_list.json", json.dumps({"re": True, "nodeList": nodes}, ensure_ascii=False))
# The same answer as JSONP, as Eastmoney's older endpoints send it.
write("eastmoney_list.jsonp", "var ajaxResult=" + json.dumps({"re": True, "nodeList": nodes}, ensure_ascii=False) + ";")

# 50 items in the 要闻 shape, for BenchmarkParseHTML.
bench = HEAD.format(charset="utf-8", title="要闻_证券时报网", column="要闻")
bench += '<ul class="list infinite-list">\n'
for n in range(50):
    link, title, text, time = YW[n % len(YW)]
    bench += yw_item(f"/article/detail/{1765000 - n}.html", f"{title}（{n + 1}）", text or "摘要", time)
bench += "</ul>\n" + FOOT
write("stcn_yw_50.html", bench)

# A roll list (滚动) in the shape CMS rolls have (新浪's among them): every
# link's address is in data-url, which the page's script opens; some <a>
# carry only href="javascript:void(0)". Its dates have the labels, brackets
# and weekdays such pages write around them.
ROLL = [
    (1009, True, "沪指震荡上行 两市成交额超1.2万亿元", "发布时间：2026-11-26 09:15"),
    (1008, False, "央行开展3000亿元MLF操作", "时间：2026-11-26 08:40"),
    (1007, True, "多家银行下调大额存单利率", "(11月25日 14:30)"),
    (1006, True, "新能源汽车11月销量预计同比增长三成", "[2026-11-25]"),
    (1005, False, "证监会就上市公司监管指引征求意见", "2026年11月24日 星期二"),
    (1004, True, "国际油价连续三日下跌", "【日期：2026-11-24 10:00】"),
    (1003, False, "人民币对美元中间价上调52个基点", "更新时间: 2026-11-23 16:00"),
    (1002, True, "北向资金本周净买入超百亿元", "发布于：2026-11-23 09:00"),
    (1001, True, "沪深交易所发布融资融券新规", "2026-11-22(周日) 20:00"),
]
roll = HEAD.format(charset="utf-8", title="滚动新闻_证券时报网", column="滚动")
roll += '<ul class="list roll-list">\n'
for n, real, title, time in ROLL:
    href = f"/article/{n}.html" if real else "javascript:void(0)"
    roll += f"""<li data-id="roll-{n}">
  <div class="tt"><a href="{href}" data-url="/article/{n}.html" onclick="openArticle(this)">{title}</a></div>
  <div class="info"><span class="time">{time}</span></div>
</li>
"""
roll += "</ul>\n" + FOOT
write("roll_jslinks.html", roll)

# Eastmoney's list API as it writes its text fields: with HTML character
# references (&nbsp;, &quot;, &amp;) in titles and publishers, and HTML in
# the digest.
entity_nodes = [
    {"title": "东方财富：沪指&nbsp;震荡上行", "from": "证券时报网", "infocode": "202611263571234601",
     "showtime": "2026-11-26 09:30:00", "digest": "<p>沪指&nbsp;震荡上行，成交&amp;换手放大。</p>"},
    {"title": "&quot;十五五&quot;规划建议解读：A&amp;H股联动", "from": "中国证券报&middot;中证网", "infocode": "202611263571234602",
     "showtime": "2026-11-26 08:05:00", "digest": ""},
    {"title": "写作&amp;lt;b&amp;gt;的标题", "from": "东方财富网", "infocode": "202611253571234603",
     "showtime": "2026-11-25 16:20:00"},
]
write("eastmoney_entities.json", json.dumps({"re": True, "nodeList": entity_nodes}, ensure_ascii=False))
