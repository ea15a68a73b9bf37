#!/usr/bin/python3
"""Regenerates the article fixtures: cd feeds/article/testdata && /usr/bin/python3 gen.py

stcn_detail.html has the shape of a 证券时报网 article page (issue 13):
.detail-title, .detail-info span (source, author after "：", the time in
+08:00), .detail-content with a .share block and a script inside; around it
the site's navigation, a related-articles list and the footer.
eastmoney_body.json is Eastmoney's body API answer. The texts are invented."""

import json

PARAS = [
    "中国人民银行11月26日发布公告称，为保持银行体系流动性合理充裕，当日开展了3000亿元中期借贷便利（MLF）操作和1500亿元7天期逆回购操作，中标利率分别为2.0%和1.5%，与此前持平。",
    "业内人士分析，本次操作在维持利率不变的同时实现了中期流动性的净投放，显示出央行呵护年末资金面的意图。进入12月，受缴税、政府债券发行和年末考核等因素影响，银行间市场资金需求季节性上升。",
    "某券商首席经济学家表示，当前物价水平总体温和，实体经济融资需求仍有待进一步提振，货币政策仍有加大逆周期调节力度的空间，不排除年内再次降准的可能。",
    "从市场表现看，公告发布后，10年期国债收益率小幅下行，银行间隔夜质押式回购利率回落至1.4%附近。A股方面，银行、券商板块早盘震荡走强，沪指涨0.6%。",
    "展望后市，分析人士认为，随着稳增长政策持续发力，经济运行有望保持回升向好态势，市场流动性将维持合理充裕，为资本市场平稳运行提供有利环境。",
]


def detail():
    paras = "\n".join(f"<p>{p}</p>" for p in PARAS[:3])
    paras += '\n<p style="text-align:center"><img src="/uploads/2026/11/26/mlf-chart.png" alt="MLF操作情况"></p>\n'
    paras += "\n".join(f"<p>{p}</p>" for p in PARAS[3:])
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>央行：保持流动性合理充裕 加大逆周期调节力度_证券时报网</title>
<meta name="keywords" content="央行,MLF,流动性">
</head>
<body>
<div class="header">
  <ul class="nav">
    <li><a href="/">首页</a></li>
    <li><a href="/article/list.html?type=yw">要闻</a></li>
    <li><a href="/article/list.html?type=kx">快讯</a></li>
    <li><a href="/article/list.html?type=company">公司</a></li>
    <li><a href="/article/list.html?type=market">市场</a></li>
  </ul>
</div>
<div class="main">
  <div class="detail-left">
    <h2 class="detail-title">央行：保持流动性合理充裕 加大逆周期调节力度</h2>
    <div class="detail-info">
      <span>来源：证券时报网</span>
      <span>作者：张三</span>
      <span>2026-11-26 09:30</span>
    </div>
    <div class="detail-content">
{paras}
<div class="share">分享到：<a href="javascript:;" class="wx">微信</a><a href="javascript:;" class="wb">微博</a></div>
<script>var shareTitle = "央行：保持流动性合理充裕";</script>
    </div>
    <div class="detail-editor">责任编辑：李四</div>
  </div>
  <div class="detail-right">
    <div class="hot-title">相关阅读</div>
    <ul class="hot-list">
      <li><a href="/article/detail/1764520.html">沪指午后翻红 券商板块集体走强</a></li>
      <li><a href="/article/detail/1764519.html">证监会：推动中长期资金入市 提升上市公司质量</a></li>
      <li><a href="/article/detail/1764518.html">11月LPR报价出炉</a></li>
    </ul>
  </div>
</div>
<div class="footer">
  <p>证券时报网版权所有，未经书面授权禁止使用</p>
  <p><a href="/about/">关于我们</a> | <a href="/contact/">联系我们</a></p>
</div>
<script src="/static/js/detail.js"></script>
</body>
</html>
"""


with open("stcn_detail.html", "w", encoding="utf-8") as f:
    f.write(detail())


# An ordinary news site's article page (the kind a kind: feed source with
# only excerpts links to), for readability: no selector is configured.
CNSTOCK = [
    "11月26日，上海证券交易所发布数据显示，截至11月25日，沪市上市公司今年以来累计实施现金分红超过1.5万亿元，同比增长约8%，分红家数和金额均创历史同期新高。",
    "业内人士表示，随着新“国九条”及配套制度落地，上市公司分红意识明显增强，一年多次分红的公司数量显著增加，投资者获得感持续提升。",
    "从行业分布看，银行、石油石化、煤炭和电力等行业分红金额居前，电子、医药生物等行业分红家数增长较快。多家公司在三季报披露后即推出中期分红方案。",
    "分析人士认为，稳定、可预期的分红有助于引导长期资金入市，提升资本市场内在稳定性。下一步，监管部门将继续强化分红约束与激励，推动上市公司更好回报投资者。",
]


def cnstock():
    paras = "\n".join(f"<p>{p}</p>" for p in CNSTOCK[:2])
    paras += '\n<figure><img src="../images/2026/1126/dividend.jpg" alt="分红"><figcaption>沪市公司分红情况</figcaption></figure>\n'
    paras += "\n".join(f"<p>{p}</p>" for p in CNSTOCK[2:])
    related = "".join(f'<li><a href="/news/{n}.html">{t}</a></li>' for n, t in [
        (101, "两市成交额连续三日超万亿元"), (102, "多家银行下调存款利率"), (103, "北交所新股申购火爆"),
        (104, "公募基金规模突破33万亿元"), (105, "险资权益投资比例上限提高")])
    comments = "\n".join(f'<div class="comment-item"><p>{c}</p></div>' for c in [
        "分红多了是好事，希望上市公司能够持续稳定地分红，而不是一次性的，这样长期投资者才能真正受益。",
        "银行股的股息率已经超过了定期存款利率，对于稳健型的投资者来说，配置一些高股息的蓝筹股是不错的选择。",
        "希望监管部门也关注那些常年不分红的公司，对于有能力分红却长期不分红的公司应当有相应的约束措施。",
        "一年多次分红确实提升了持股体验，但也要注意分红的可持续性，不能为了分红而影响公司的正常经营和发展。",
    ])
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>沪市公司今年现金分红超1.5万亿元 创历史同期新高-中国证券网</title>
<meta property="og:title" content="沪市公司今年现金分红超1.5万亿元 创历史同期新高">
</head>
<body>
<header class="site-header">
  <nav><a href="/">首页</a> <a href="/news/">要闻</a> <a href="/market/">市场</a> <a href="/company/">公司</a> <a href="/fund/">基金</a></nav>
</header>
<div class="wrap">
  <div class="left">
    <article>
      <h1>沪市公司今年现金分红超1.5万亿元 创历史同期新高</h1>
      <div class="byline"><span class="author">记者 王五</span> <time datetime="2026-11-26T10:05:00+08:00">2026-11-26 10:05</time></div>
      <div class="article-body">
{paras}
      </div>
      <div class="share-bar">分享到：<a href="#">微信</a> <a href="#">微博</a></div>
    </article>
    <section class="comments"><h3>网友评论</h3>
{comments}
    </section>
  </div>
  <aside class="sidebar"><h3>热门文章</h3><ul>{related}</ul></aside>
</div>
<footer class="site-footer"><p>中国证券网版权所有 未经许可不得转载</p></footer>
<script src="/js/stat.js"></script>
</body>
</html>
"""


with open("cnstock_detail.html", "w", encoding="utf-8") as f:
    f.write(cnstock())

body = {"text": "".join(f"<p>{p}</p>" for p in PARAS[:2]) + '<p class="em_media">（文章来源：证券时报网）</p>',
        "title": "央行：保持流动性合理充裕", "infocode": "202611263571234567"}
with open("eastmoney_body.json", "w", encoding="utf-8") as f:
    json.dump(body, f, ensure_ascii=False)
