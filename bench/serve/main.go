// Command serve is the helper of scripts/bench-serve, which measures how fast
// feedrelay serves a category feed compared with nginx serving the same bytes
// as a static file. It has three subcommands:
//
//	serve feed [-items 60] [-seed 1]   an RSS 2.0 source feed on stdout: items of
//	                                   ~1.5 KB of mixed Chinese/English HTML
//	serve ports N                      N free TCP ports on 127.0.0.1, one a line
//	serve get [-gzip] [-o FILE] URL    GET URL (Accept-Encoding: identity, or
//	                                   gzip), save the body, and print status,
//	                                   Content-Type, Content-Encoding, size, ETag
//	serve static ADDR FILE             serve FILE (FILE.gz to clients that accept
//	                                   gzip) from memory on every path, with a
//	                                   bare net/http handler: the ceiling of what
//	                                   a Go server can do on this machine
//
// It is a bench tool, not part of feedrelay.
package main

import (
	"flag"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "feed":
		err = feedCmd(os.Args[2:])
	case "ports":
		err = portsCmd(os.Args[2:])
	case "get":
		err = getCmd(os.Args[2:])
	case "static":
		err = staticCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/serve:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: serve feed [-items N] [-seed S] | ports N | get [-gzip] [-o FILE] URL | static ADDR FILE")
	os.Exit(2)
}

// Words the generated articles are made of: the kind of financial news the
// Chinese sources feedrelay republishes carry, with English names, tickers
// and figures mixed in.
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
	tickers = []string{"贵州茅台（600519）", "宁德时代（300750）", "招商银行（600036）", "中国平安（601318）", "比亚迪（002594）", "中芯国际（688981）"}
	titles  = []func(r *rand.Rand) string{
		func(r *rand.Rand) string {
			return fmt.Sprintf("A股三大指数集体收涨 创业板指涨%d.%02d%%", r.IntN(3), r.IntN(100))
		},
		func(r *rand.Rand) string {
			return fmt.Sprintf("央行开展%d亿元逆回购操作 维护流动性合理充裕", 100*(r.IntN(30)+1))
		},
		func(r *rand.Rand) string {
			return fmt.Sprintf("北向资金净买入%d.%d亿元 电子板块获加仓", r.IntN(120), r.IntN(10))
		},
		func(r *rand.Rand) string {
			return fmt.Sprintf("券商观点：结构性行情延续 关注科技成长主线（第%d期）", r.IntN(200)+1)
		},
		func(r *rand.Rand) string {
			return fmt.Sprintf("Stock Connect 周报：外资本周净流入%d亿元，增持%d只个股", r.IntN(300)+1, r.IntN(500)+1)
		},
		func(r *rand.Rand) string {
			return fmt.Sprintf("%d家上市公司披露三季报 逾%d成业绩预喜", r.IntN(3000)+100, r.IntN(8)+1)
		},
	}
	authors = []string{"证券时报记者 王一", "证券时报记者 李明", "本报记者 张华", "Reuters", "财经频道 陈晨"}
)

// feedCmd writes an RSS 2.0 feed of realistic items: ~1.5 KB of HTML each,
// paragraphs of Chinese with English sentences, tickers, a list, a table
// and links, deterministic for a given seed.
func feedCmd(args []string) error {
	fs := flag.NewFlagSet("feed", flag.ExitOnError)
	items := fs.Int("items", 60, "number of items")
	seed := fs.Uint64("seed", 1, "random seed")
	size := fs.Int("size", 1500, "approximate size of each item's HTML in bytes")
	fs.Parse(args)

	rng := rand.New(rand.NewPCG(*seed, *seed))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	w := &strings.Builder{}
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
<title>基准财经新闻 Bench Financial News</title>
<link>https://news.example.com/finance/</link>
<description>feedrelay 基准测试用的财经新闻源（生成）</description>
<language>zh-cn</language>
`)
	zone := time.FixedZone("CST", 8*3600)
	start := time.Date(2026, 11, 26, 15, 0, 0, 0, zone)
	for i := range *items {
		id := 2000000 + *items - i
		link := fmt.Sprintf("https://news.example.com/finance/%d/%d.html", 2026, id)
		title := titles[rng.IntN(len(titles))](rng)
		body := article(rng, pick, id, *size)
		fmt.Fprintf(w, `<item>
<title>%s</title>
<link>%s</link>
<guid isPermaLink="false">bench-%d</guid>
<dc:creator>%s</dc:creator>
<pubDate>%s</pubDate>
<description><![CDATA[%s]]></description>
</item>
`, html.EscapeString(title), link, id, html.EscapeString(pick(authors)),
			start.Add(-time.Duration(i)*17*time.Minute).Format(time.RFC1123Z), body)
	}
	w.WriteString("</channel>\n</rss>\n")
	_, err := io.WriteString(os.Stdout, w.String())
	return err
}

// article returns about size bytes of HTML.
func article(rng *rand.Rand, pick func([]string) string, id, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<p><strong>证券时报网讯</strong>（记者 %s）%s</p>`, pick([]string{"王一", "李明", "张华"}), pick(zhSentences))
	fmt.Fprintf(&b, `<p>%s %s <a href="https://news.example.com/finance/2026/%d.html">相关阅读</a></p>`,
		pick(zhSentences), pick(enPhrases), id-1-rng.IntN(20))
	b.WriteString("<ul>")
	for range 3 {
		fmt.Fprintf(&b, "<li>%s：收盘价%d.%02d元，涨跌幅%+.2f%%</li>", pick(tickers), rng.IntN(2000)+5, rng.IntN(100), rng.Float64()*10-5)
	}
	b.WriteString("</ul>")
	fmt.Fprintf(&b, `<table><tr><th>指数 Index</th><th>收盘 Close</th></tr><tr><td>上证指数</td><td>%d.%02d</td></tr><tr><td>深证成指</td><td>%d.%02d</td></tr></table>`,
		3000+rng.IntN(500), rng.IntN(100), 10000+rng.IntN(1500), rng.IntN(100))
	for b.Len() < size-120 {
		if rng.IntN(3) == 0 {
			fmt.Fprintf(&b, "<p>%s</p>", pick(enPhrases))
		} else {
			fmt.Fprintf(&b, "<p>%s%s</p>", pick(zhSentences), pick(zhSentences))
		}
	}
	fmt.Fprintf(&b, `<p><em>风险提示：本文不构成投资建议。</em> <img src="https://img.example.com/chart/%d.png" alt="走势图"></p>`, id)
	return b.String()
}

// portsCmd prints n distinct free ports on 127.0.0.1.
func portsCmd(args []string) error {
	n := 1
	if len(args) > 0 {
		var err error
		if n, err = strconv.Atoi(args[0]); err != nil || n < 1 {
			return fmt.Errorf("ports: bad count %q", args[0])
		}
	}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

// getCmd fetches one URL the way the benchmark's clients do and tells what
// came back, so that the script can check both servers answer alike.
func getCmd(args []string) error {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	gz := fs.Bool("gzip", false, "send Accept-Encoding: gzip (else identity)")
	out := fs.String("o", "", "write the body (as sent, not decompressed) to this file")
	wait := fs.Duration("wait", 0, "retry connection errors for this long (server starting)")
	fs.Parse(args)
	if fs.NArg() != 1 {
		usage()
	}
	req, err := http.NewRequest("GET", fs.Arg(0), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "identity")
	if *gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	// A transport of our own, so that Go does not add gzip or decompress.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 30 * time.Second}
	deadline := time.Now().Add(*wait)
	var resp *http.Response
	for {
		resp, err = client.Do(req)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", fs.Arg(0), resp.Status)
	}
	if *out != "" {
		if err := os.WriteFile(*out, body, 0o644); err != nil {
			return err
		}
	}
	enc := resp.Header.Get("Content-Encoding")
	if enc == "" {
		enc = "identity"
	}
	fmt.Printf("%d %s, %s, %d bytes, ETag %s\n", resp.StatusCode, resp.Header.Get("Content-Type"), enc, len(body), resp.Header.Get("ETag"))
	return nil
}

// staticCmd serves a file's bytes from memory with the least net/http allows:
// the headers feedrelay sends, Content-Length, one Write. No conditional
// requests, no ranges, no routing, no metrics.
func staticCmd(args []string) error {
	if len(args) != 2 {
		usage()
	}
	plain, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	gz, err := os.ReadFile(args[1] + ".gz")
	if err != nil {
		return err
	}
	plainLen, gzLen := strconv.Itoa(len(plain)), strconv.Itoa(len(gz))
	modified := time.Now().UTC().Format(http.TimeFormat)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/atom+xml; charset=utf-8")
		h.Set("Vary", "Accept-Encoding")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Last-Modified", modified)
		body, n, etag := plain, plainLen, `"static"`
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			body, n, etag = gz, gzLen, `"static-gzip"`
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("ETag", etag)
		h.Set("Content-Length", n)
		w.Write(body)
	})
	srv := &http.Server{Addr: args[0], Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}
