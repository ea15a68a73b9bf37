// Package synth generates the synthetic sources feedrelay's benchmarks poll
// and serve: RSS 2.0 feeds of Chinese financial news with English names,
// tickers and figures mixed in, each item about 1.5 KB of HTML.
package synth

import (
	"fmt"
	"html"
	"math/rand/v2"
	"strings"
	"time"
)

// The synthetic sources: RSS 2.0 feeds of Chinese financial news with
// English names, tickers and figures mixed in, each item ~1.5 KB of HTML
// (paragraphs, a list, a table, absolute and relative links, an image), as
// the sources feedrelay republishes carry. Everything is deterministic: an
// item depends only on its source and its number, so a source that gains
// one item serves the same bytes for the others.

var (
	zhSentences = []string{
		"沪深两市今日早盘低开高走，创业板指盘中一度翻红，两市成交额较上一交易日有所放大。",
		"北向资金全天净买入超过50亿元，主要流入电子、医药生物和食品饮料等板块。",
		"央行今日开展2000亿元7天期逆回购操作，中标利率持平于1.80%，实现净投放。",
		"多家券商认为，随着稳增长政策持续发力，市场风险偏好有望逐步修复。",
		"半导体板块午后集体走强，多只个股涨停，行业景气度回升预期升温。",
		"分析人士指出，短期市场仍将以结构性行情为主，建议关注业绩确定性较高的龙头公司。",
		"公司公告称，前三季度实现营业收入同比增长12.3%，归母净利润同比增长8.6%。",
		"新能源汽车产业链表现活跃，锂电池、充电桩等细分领域涨幅居前。",
		"国家统计局数据显示，11月份全国居民消费价格同比上涨0.2%，环比持平。",
		"证监会表示，将进一步完善上市公司监管制度，切实保护中小投资者合法权益。",
		"人民币兑美元中间价报7.1860，较上一交易日调升32个基点。",
		"银行板块估值处于历史低位，机构建议逢低配置高股息品种。",
	}
	enPhrases = []string{
		"The Shanghai Composite Index closed up 0.35% at 3,287.41 points.",
		"Analysts at CICC expect Q4 earnings to beat consensus estimates.",
		"Northbound inflows via Stock Connect reached CNY 5.2 billion.",
		"The PBOC kept the one-year Loan Prime Rate (LPR) unchanged at 3.10%.",
		"Shares of BYD (002594.SZ) rose 4.2% on strong November deliveries.",
		"Bond yields edged lower as investors priced in further easing.",
		"CATL said its new sodium-ion battery will enter mass production next year.",
		"Trading volume on the STAR Market hit a three-month high.",
	}
	tickers  = []string{"贵州茅台（600519）", "宁德时代（300750）", "招商银行（600036）", "中国平安（601318）", "比亚迪（002594）", "中芯国际（688981）"}
	reporter = []string{"王一", "李明", "张华", "陈晨", "刘洋"}
	authors  = []string{"证券时报记者 王一", "证券时报记者 李明", "本报记者 张华", "Reuters", "财经频道 陈晨"}
	tags     = []string{"A股", "宏观", "银行", "券商", "新能源", "半导体", "债券", "外汇"}
	origins  = []string{"证券时报", "上海证券报", "中国证券报", "第一财经", "财新网"}
)

func title(r *rand.Rand, id int) string {
	switch r.IntN(6) {
	case 0:
		return fmt.Sprintf("A股三大指数集体收涨 创业板指涨%d.%02d%%（%d）", r.IntN(3), r.IntN(100), id)
	case 1:
		return fmt.Sprintf("央行开展%d亿元逆回购操作 维护流动性合理充裕（%d）", 100*(r.IntN(30)+1), id)
	case 2:
		return fmt.Sprintf("北向资金净买入%d.%d亿元 电子板块获加仓（%d）", r.IntN(120), r.IntN(10), id)
	case 3:
		return fmt.Sprintf("券商观点：结构性行情延续 关注科技成长主线（第%d期）", id)
	case 4:
		return fmt.Sprintf("Stock Connect 周报：外资本周净流入%d亿元，增持%d只个股 &amp; 减持%d只", r.IntN(300)+1, r.IntN(500)+1, id%97)
	default:
		return fmt.Sprintf("%d家上市公司披露三季报 逾%d成业绩预喜（%d）", r.IntN(3000)+100, r.IntN(8)+1, id)
	}
}

// article returns about size bytes of HTML for item id of source src.
func article(r *rand.Rand, src, id, size int) string {
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	var b strings.Builder
	b.Grow(size + 256)
	fmt.Fprintf(&b, `<p><strong>证券时报网讯</strong>（记者 %s）%s</p>`, pick(reporter), pick(zhSentences))
	// A relative link: the normalizer resolves it against the feed URL.
	fmt.Fprintf(&b, `<p>%s %s <a href="/finance/2026/%d.html">相关阅读</a></p>`,
		pick(zhSentences), pick(enPhrases), id-1-r.IntN(20))
	b.WriteString("<ul>")
	for range 3 {
		fmt.Fprintf(&b, "<li>%s：收盘价%d.%02d元，涨跌幅%+.2f%%</li>", pick(tickers), r.IntN(2000)+5, r.IntN(100), r.Float64()*10-5)
	}
	b.WriteString("</ul>")
	fmt.Fprintf(&b, `<table><tr><th>指数 Index</th><th>收盘 Close</th></tr><tr><td>上证指数</td><td>%d.%02d</td></tr><tr><td>深证成指</td><td>%d.%02d</td></tr></table>`,
		3000+r.IntN(500), r.IntN(100), 10000+r.IntN(1500), r.IntN(100))
	for b.Len() < size-220 {
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "<p>%s</p>", pick(enPhrases))
		} else {
			fmt.Fprintf(&b, "<p>%s%s</p>", pick(zhSentences), pick(zhSentences))
		}
	}
	fmt.Fprintf(&b, `<p><em>风险提示：本文不构成投资建议。</em> <img src="https://img.example.com/chart/%d/%d.png" alt="走势图"></p>`, src, id)
	if r.IntN(4) == 0 {
		fmt.Fprintf(&b, "<p>（文章来源：%s）</p>", pick(origins))
	}
	return b.String()
}

// Start is the date of the newest item of a source that has never
// changed; each newer item is 17 minutes later.
var Start = time.Date(2026, 11, 26, 15, 0, 0, 0, time.FixedZone("CST", 8*3600))

// Feed returns the RSS of source src listing items first..last (newest
// first), each of about size bytes of HTML.
func Feed(src, first, last, size int) []byte {
	var w strings.Builder
	w.Grow((last - first + 1) * (size + 600))
	fmt.Fprintf(&w, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>基准财经新闻 %d · Bench Financial News</title>
<link>https://news%d.example.com/finance/</link>
<atom:link href="https://news%d.example.com/finance/rss.xml" rel="self" type="application/rss+xml"/>
<description>feedrelay 基准测试用的财经新闻源（生成）</description>
<language>zh-cn</language>
<lastBuildDate>%s</lastBuildDate>
`, src, src, src, ItemDate(last).Format(time.RFC1123Z))
	for id := last; id >= first; id-- {
		r := rand.New(rand.NewPCG(uint64(src), uint64(id)))
		fmt.Fprintf(&w, `<item>
<title>%s</title>
<link>https://news%d.example.com/finance/2026/%d.html?utm_source=rss&amp;utm_medium=feed</link>
<guid isPermaLink="false">bench-%d-%d</guid>
<dc:creator>%s</dc:creator>
<category>%s</category>
<pubDate>%s</pubDate>
<description><![CDATA[%s]]></description>
</item>
`, title(r, id), src, id, src, id, html.EscapeString(authors[r.IntN(len(authors))]), tags[r.IntN(len(tags))],
			ItemDate(id).Format(time.RFC1123Z), article(r, src, id, size))
	}
	w.WriteString("</channel>\n</rss>\n")
	return []byte(w.String())
}

// ItemDate is when item id of any source was published.
func ItemDate(id int) time.Time {
	return Start.Add(time.Duration(id) * 17 * time.Minute)
}
