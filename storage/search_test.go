package storage

import (
	"context"
	"fmt"
	"html"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/internal/bench/synth"
)

// searchItem is an item with its own HTML content.
func searchItem(guid, title, content string, published time.Time) feeds.Item {
	return feeds.Item{GUID: guid, Identity: guid, Title: title, Link: "https://example.org/" + guid,
		Content: content, Published: published, Hash: title + content}
}

// indexed indexes what polls queued, as the daemon does after them.
func indexed(t testing.TB, db *DB) {
	t.Helper()
	if _, err := db.IndexAll(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func search(t *testing.T, db *DB, text string, sources ...string) []string {
	t.Helper()
	indexed(t, db)
	if len(sources) == 0 {
		sources = []string{"stcn", "other"}
	}
	es, err := db.Search(context.Background(), SearchQuery{Text: text, Sources: sources, Limit: 100})
	if err != nil {
		t.Fatalf("search %q: %v", text, err)
	}
	return guids(es)
}

func guids(es []Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, strings.TrimPrefix(e.Link, "https://example.org/"))
	}
	return out
}

func newSearchDB(t *testing.T, dsn string) *DB {
	t.Helper()
	ctx := context.Background()
	db := mustOpen(t, dsn)
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return t0.Add(24 * time.Hour) }
	if _, err := db.Save(ctx, result("stcn", "", searchItem("a", "沪深两市成交额突破万亿",
		`<p>今日<strong>两</strong>市成交活跃，科技股领涨。</p><p class="note">午后回落</p>`, t0),
		searchItem("b", "科技ETF净流入创新高", `<p>Tech <em>ETF</em> inflows hit a record.</p>`, t0.Add(time.Hour)),
	)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Save(ctx, result("other", "", searchItem("c", "Fed holds rates",
		`<p>The Federal Reserve held rates &amp; guidance unchanged.</p>`, t0.Add(2*time.Hour)),
		searchItem("d", "半导体板块走强", `<div>芯片<b>科技</b>公司<br>集体上涨</div>`, t0.Add(3*time.Hour)),
	)); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestSearch(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		db := newSearchDB(t, dsn)
		for _, tc := range []struct {
			q    string
			want []string
		}{
			{"成交额", []string{"a"}},              // 3 characters: trigram MATCH
			{"两市成交额突破", []string{"a"}},          // longer: a phrase of trigrams
			{"两市", []string{"a"}},               // 2 characters: the fallback (in the title)
			{"午后", []string{"a"}},               // 2 characters in the text
			{"两市成交", []string{"a"}},             // across inline markup in the text too? title here
			{"涨", []string{"d", "a"}},           // 1 character: 领涨 and 上涨, newest first
			{"科技 ETF", []string{"b"}},           // mixed: a short term and a long one, ANDed
			{"ETF 科技", []string{"b"}},           // in any order
			{"科技", []string{"d", "b", "a"}},     // newest first
			{"etf", []string{"b"}},              // ASCII case folds in the index
			{"fed", []string{"c"}},              // … and in the title
			{"Fe", []string{"c"}},               // … and in the fallback
			{"rates & guidance", []string{"c"}}, // entities are unescaped
			{"strong", nil},                     // markup is not text
			{"class", nil},
			{"note", nil},
			{"amp", nil},
			{"p", nil},
			{"芯片科技公司", []string{"d"}}, // inline elements join their text
			{"公司集体", nil},             // <br> separates it
			{"公司 集体", []string{"d"}},
			{"科技 涨 芯片", []string{"d"}},
			{"没有的词", nil},
			{`a"b`, nil}, // a quote in a phrase
			{`"两`, nil},  // … in a short term
			{`"`, nil},
			{"%", nil}, // LIKE wildcards are literal
			{"_", nil},
			{"  ", nil},
		} {
			got := search(t, db, tc.q)
			if tc.want == nil {
				tc.want = []string{}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("search %q = %v, want %v", tc.q, got, tc.want)
			}
		}
	})
}

// TestSearch_ShortTermsThroughIndex: terms of one or two characters are
// found through the trigrams they begin, at the very end of a title or a
// text too, and when they are too common for that, by LIKE.
func TestSearch_ShortTermsThroughIndex(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
		if _, err := db.Save(ctx, result("stcn", "",
			searchItem("a", "A股", "<p>涨</p>", t0),
			searchItem("b", "x", "<p>收盘<em>大涨</em></p>", t0.Add(time.Hour)),
			searchItem("c", "z", "<p>涨幅</p>", t0.Add(2*time.Hour)),
		)); err != nil {
			t.Fatal(err)
		}
		indexed(t, db)
		if !db.pg { // PostgreSQL looks a short term up as a gram of its own
			tris, ok, err := db.termsFrom(ctx, "涨")
			if err != nil || !ok || !slices.Equal(tris, []string{"涨", "涨幅"}) {
				t.Errorf("trigrams from 涨: %q %v %v", tris, ok, err)
			}
		}
		for _, expand := range []bool{true, false} {
			if !expand {
				defer func(old int) { maxExpandDocs = old }(maxExpandDocs)
				maxExpandDocs = 0
			}
			for q, want := range map[string][]string{
				"A股": {"a"}, "a股": {"a"}, "股": {"a"}, "a": {"a"}, "涨": {"c", "b", "a"}, "大涨": {"b"},
				"x": {"b"}, "z": {"c"}, "涨幅": {"c"}, "收": {"b"}, "股 涨": {"a"}, "跌": {}, "q": {},
			} {
				if got := search(t, db, q); !slices.Equal(got, want) {
					t.Errorf("expand=%v: search %q = %v, want %v", expand, q, got, want)
				}
			}
		}
	})
}

// TestSearch_ShortTermAtTheLimit: a short term is looked up through the
// index while the items holding the terms it begins are at most
// maxExpandDocs, and by LIKE past that, whether the term itself (ж at the
// end of a title) holds them all or none, and once items are deleted;
// the two differ for letters other than ASCII, which only the index finds
// in either case.
func TestSearch_ShortTermAtTheLimit(t *testing.T) {
	defer func(old int) { maxExpandDocs = old }(maxExpandDocs)
	maxExpandDocs = 2
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	type step struct {
		title string   // of one more item
		drop  string   // else the item deleted
		ok    bool     // ж is then looked up through the index
		want  []string // and found in these items, newest first
	}
	for name, steps := range map[string][]step{
		"the term itself": {
			{"Ж", "", true, []string{"1"}},
			{"ж", "", true, []string{"2", "1"}},    // ж alone in maxExpandDocs items
			{"ж", "", false, []string{"3", "2"}},   // in one more: LIKE, which finds no Ж
			{"xЖy", "", false, []string{"3", "2"}}, // …nor in the middle of a word
			{"", "3", false, []string{"2"}},
			{"", "2", true, []string{"4", "1"}}, // ж in one item, жy in another
		},
		"longer terms": { // Жa and жb in one item each, ж alone in none
			{"Жa", "", true, []string{"1"}},
			{"жb", "", true, []string{"2", "1"}},
			{"жc", "", false, []string{"3", "2"}},
			{"", "2", true, []string{"3", "1"}},
		},
	} {
		db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
		for i, s := range steps {
			if s.drop != "" {
				if _, err := db.w.ExecContext(ctx, `DELETE FROM items WHERE link = ?`, "https://example.org/"+s.drop); err != nil {
					t.Fatal(err)
				}
			} else if _, err := db.Save(ctx, result("stcn", "", searchItem(fmt.Sprint(i+1), s.title, "<p>-</p>", t0.Add(time.Duration(i)*time.Minute)))); err != nil {
				t.Fatal(err)
			}
			got := search(t, db, "ж", "stcn")
			if _, ok, err := db.termsFrom(ctx, "ж"); err != nil || ok != s.ok || !slices.Equal(got, s.want) {
				t.Errorf("%s, step %d: search ж = %v through the index %v (%v), want %v %v", name, i+1, got, ok, err, s.want, s.ok)
			}
		}
	}
}

func TestSearch_Sources(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		db := newSearchDB(t, dsn)
		if got := search(t, db, "科技", "other"); !slices.Equal(got, []string{"d"}) {
			t.Errorf("科技 in other = %v, want [d]", got)
		}
		if got := search(t, db, "科技ETF", "other"); len(got) != 0 {
			t.Errorf("科技ETF in other = %v, want none", got)
		}
		if got := search(t, db, "两市", "stcn"); !slices.Equal(got, []string{"a"}) {
			t.Errorf("两市 in stcn = %v, want [a]", got)
		}
		es, err := db.Search(context.Background(), SearchQuery{Text: "科技", Limit: 10})
		if err != nil || len(es) != 0 {
			t.Errorf("no sources: %v, %v; want nothing", es, err)
		}
	})
}

func TestSearch_Paging(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
		var items []feeds.Item
		for i := range 5 {
			// Two share a date: the id breaks the tie.
			items = append(items, searchItem(fmt.Sprint(i), fmt.Sprintf("新能源%d", i), "<p>x</p>", t0.Add(time.Duration(i/2)*time.Hour)))
		}
		items = append(items, searchItem("other", "半导体", "<p>y</p>", t0))
		if _, err := db.Save(ctx, result("stcn", "", items...)); err != nil {
			t.Fatal(err)
		}
		indexed(t, db)
		for _, q := range []string{"新能源", "能源", "源", "新能源 能"} {
			var pages [][]string
			var before *Cursor
			for len(pages) < 10 {
				es, err := db.Search(ctx, SearchQuery{Text: q, Sources: []string{"stcn"}, Limit: 2, Before: before})
				if err != nil {
					t.Fatal(err)
				}
				if len(es) == 0 {
					break
				}
				pages = append(pages, guids(es))
				c := CursorOf(&es[len(es)-1])
				before = &c
			}
			if fmt.Sprint(pages) != "[[4 3] [2 1] [0]]" {
				t.Errorf("%s: pages %v, want [[4 3] [2 1] [0]]", q, pages)
			}
		}
	})
}

func TestSearch_UpdatedItemReindexed(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := newSearchDB(t, dsn)
		t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
		counts, err := db.Save(ctx, result("stcn", "", searchItem("a", "沪指收涨", "<p>北向资金净买入</p>", t0)))
		if err != nil {
			t.Fatal(err)
		}
		if counts.Updated != 1 {
			t.Fatalf("counts %+v, want 1 updated", counts)
		}
		for q, want := range map[string][]string{
			"成交额":  {},
			"两市":   {},
			"午后":   {},
			"北向资金": {"a"},
			"沪指":   {"a"},
			"科技":   {"d", "b"},
		} {
			if got := search(t, db, q); !slices.Equal(got, want) {
				t.Errorf("after the update, search %q = %v, want %v", q, got, want)
			}
		}
		var rows int
		indexed(t, db)
		if err := db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM items_search").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 4 {
			t.Errorf("%d index rows for 4 items", rows)
		}
	})
}

func TestSearch_DeletedItemLeavesIndex(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := newSearchDB(t, dsn)
		indexed(t, db)
		if _, err := db.w.ExecContext(ctx, "DELETE FROM items WHERE link = 'https://example.org/d'"); err != nil {
			t.Fatal(err)
		}
		var rows int
		if err := db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM items_search").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 3 {
			t.Errorf("%d index rows for 3 items", rows)
		}
		if got := search(t, db, "芯片"); len(got) != 0 {
			t.Errorf("deleted item found: %v", got)
		}
	})
}

// TestSearch_MigrationBackfills runs the search migrations (0003, 0009 and
// 0010) again over stored items, as they run over a database from before
// search.
func TestSearch_MigrationBackfills(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "feedrelay.db")
	db := mustOpen(t, path)
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	if _, err := db.Save(ctx, result("stcn", "", searchItem("a", "沪深两市", "<p>科技<i>股</i>领涨 &lt;b&gt;</p>", t0))); err != nil {
		t.Fatal(err)
	}
	// items_search_content: SQLite 3.54.1 leaves the shadow table of a
	// contentless_unindexed table behind when it drops the table.
	if _, err := db.w.ExecContext(ctx, `DROP TRIGGER items_search_delete;
		DROP TABLE items_search_terms; DROP TABLE items_search; DROP TABLE IF EXISTS items_search_content;
		DROP TABLE search_queue;
		DELETE FROM migrations WHERE name IN ('migrations/0003_search.sql',
			'migrations/0009_search_segments.sql', 'migrations/0010_search_terms.sql')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = mustOpen(t, path)
	for q, want := range map[string][]string{"科技股领涨": {"a"}, "两市": {"a"}, "<b>": {"a"}, "<i>": {}} {
		if got := search(t, db, q, "stcn"); !slices.Equal(got, want) {
			t.Errorf("after the backfill, search %q = %v, want %v", q, got, want)
		}
	}
}

// TestIndex_ItemChangedAfterRead: IndexAll reads a batch and extracts its
// text outside the writer; an item a poll changes or deletes before the
// batch is written is indexed as it is then, or not at all.
func TestIndex_ItemChangedAfterRead(t *testing.T) {
	ctx := context.Background()
	db := newSearchDB(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	batch, err := db.readQueued(ctx, 0, indexBatch)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	if _, err := db.Save(ctx, result("stcn", "", searchItem("a", "沪指收涨", "<p>北向资金净买入</p>", t0))); err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(ctx, "DELETE FROM items WHERE link = 'https://example.org/d'"); err != nil {
		t.Fatal(err)
	}
	n, err := db.writeQueued(ctx, batch)
	if err != nil || n != 4 {
		t.Fatalf("wrote the batch of 4: %d, %v", n, err)
	}
	var queued, rows int
	if err := db.r.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM search_queue), (SELECT count(*) FROM items_search)").
		Scan(&queued, &rows); err != nil {
		t.Fatal(err)
	}
	if queued != 0 || rows != 3 {
		t.Fatalf("%d items left in the queue, %d rows in the index; want 0 and 3", queued, rows)
	}
	for q, want := range map[string][]string{"北向资金": {"a"}, "沪指": {"a"}, "成交额": {}, "两市": {}, "芯片": {}, "科技": {"b"}} {
		if got := search(t, db, q); !slices.Equal(got, want) {
			t.Errorf("search %q = %v, want %v", q, got, want)
		}
	}
}

// TestIndexAll_Batches: IndexAll takes the queue batch after batch (each
// read while the one before is written), to the end, and takes from it the
// ids of items that no longer exist.
func TestIndexAll_Batches(t *testing.T) {
	defer func(old int) { indexBatch = old }(indexBatch)
	indexBatch = 3
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	var items []feeds.Item
	for i := range 10 {
		items = append(items, searchItem(fmt.Sprint(i), fmt.Sprintf("标题%d", i), fmt.Sprintf("<p>正文%d号</p>", i), t0.Add(time.Duration(i)*time.Hour)))
	}
	if _, err := db.Save(ctx, result("stcn", "", items...)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(ctx, "INSERT INTO search_queue (id) VALUES (999999)"); err != nil {
		t.Fatal(err)
	}
	n, err := db.IndexAll(ctx)
	if err != nil || n != 11 {
		t.Fatalf("IndexAll = %d, %v; want the 11 queued", n, err)
	}
	for i := range 10 {
		if got := search(t, db, fmt.Sprintf("文%d号", i), "stcn"); !slices.Equal(got, []string{fmt.Sprint(i)}) {
			t.Errorf("item %d: found %v", i, got)
		}
	}
	if got := search(t, db, "标题", "stcn"); len(got) != 10 {
		t.Errorf("标题 found %v, want all 10", got)
	}
	var queued int
	if err := db.r.QueryRowContext(ctx, "SELECT count(*) FROM search_queue").Scan(&queued); err != nil || queued != 0 {
		t.Errorf("%d left in the queue (%v)", queued, err)
	}
	// The newest item, the highest indexed id, changes: its old text leaves.
	if _, err := db.Save(ctx, result("stcn", "", searchItem("9", "标题9", "<p>改写</p>", t0.Add(9*time.Hour)))); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]string{"文9号": {}, "改写": {"9"}} {
		if got := search(t, db, q, "stcn"); !slices.Equal(got, want) {
			t.Errorf("after the change, search %q = %v, want %v", q, got, want)
		}
	}
}

// TestSearch_Migration0009: a database indexed with FTS5's default
// settings, from before migration 0009, keeps finding every item once the
// migration has set the new ones, and as new batches are merged with the
// old segments.
func TestSearch_Migration0009(t *testing.T) {
	defer func(old int) { indexBatch = old }(indexBatch)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "feedrelay.db")
	db := mustOpen(t, path)
	if _, err := db.w.ExecContext(ctx, `INSERT INTO items_search (items_search, rank) VALUES ('hashsize', 1048576);
		DELETE FROM migrations WHERE name = 'migrations/0009_search_segments.sql'`); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	save := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if _, err := db.Save(ctx, result("stcn", "", searchItem(fmt.Sprint(i), fmt.Sprintf("旧闻%d", i),
				fmt.Sprintf("<p>第%d条 market %d</p>", i, i), t0.Add(time.Duration(i)*time.Minute)))); err != nil {
				t.Fatal(err)
			}
		}
	}
	indexBatch = 1 // a segment per item: merges across the migration
	save(0, 20)
	indexed(t, db)
	db.Close()
	db = mustOpen(t, path)
	var hashsize int
	if err := db.r.QueryRowContext(ctx, "SELECT v FROM items_search_config WHERE k = 'hashsize'").Scan(&hashsize); err != nil || hashsize != 8<<20 {
		t.Fatalf("hashsize after the migration: %d, %v", hashsize, err)
	}
	save(20, 40)
	indexed(t, db)
	for i := range 40 {
		if got := search(t, db, fmt.Sprintf("第%d条", i), "stcn"); !slices.Equal(got, []string{fmt.Sprint(i)}) {
			t.Errorf("item %d: found %v", i, got)
		}
	}
	if got := search(t, db, "market", "stcn"); len(got) != 40 {
		t.Errorf("market found %d items, want 40", len(got))
	}
}

// The benchmarks below measure search on a realistic archive and what
// indexing costs ingest:
//
//	go test ./storage -run '^$' -bench 'Search|Ingest' -benchtime=200x

const benchItems = 100_000

// corpus generates deterministic items: about 1.5 KB of HTML each, Chinese
// financial news with English words mixed in, words drawn with a Zipf
// distribution so that some are common and some rare.
type corpus struct {
	rng  *rand.Rand
	zh   *rand.Zipf
	en   *rand.Zipf
	next int
}

var (
	zhWords = strings.Fields(`两市 科技 公司 市场 投资者 上涨 下跌 成交额 指数 板块 资金 北向资金 新能源 半导体 证券 基金 银行
		保险 券商 业绩 营收 净利润 同比 增长 回落 震荡 收盘 开盘 沪指 深成指 创业板 科创板 龙头 概念股 光伏 储能 锂电池
		芯片 人工智能 算力 医药 白酒 消费 地产 汽车 新能源车 机构 公募 私募 外资 融资 融券 分红 回购 减持 增持 并购 重组
		监管 证监会 央行 降准 降息 利率 汇率 人民币 美元 债券 国债 可转债 期货 黄金 原油 大宗商品 通胀 经济 数据 政策 改革
		试点 发布 公告 披露 季报 年报 预告 估值 市盈率 股价 涨停 跌停 主力 净流入 净流出 换手率 量能 反弹 调整 风险 机会
		配置 策略 分析师 研报 评级 目标价 行业 景气度 产业链 订单 产能 出口 进口 贸易 港股 美股 恒生指数 纳斯达克 科技股
		蓝筹股 中小盘 题材 炒作 热点 轮动 高开 低开 走强 走弱 翻红 翻绿 尾盘 午后 早盘 集合竞价 两融 余额 创新高 破发 打新
		注册制 退市 停牌 复牌 定增 配股 股东 董事会 高管 薪酬 员工 持股 计划 激励 专利 研发 投入 技术 突破 合作 签约 项目
		中标 合同 金额 亿元 万元 百分点 环比 季度 年度 全年 目标 预期 超预期 不及预期 展望 前景 挑战 压力 韧性 复苏`)
	enWords = strings.Fields(`the market stocks shares index ETF fund investors rally selloff Fed rates inflation
		yield bond dollar yuan earnings revenue profit growth outlook guidance analysts upgrade downgrade target price
		tech chip AI semiconductor battery solar EV auto bank insurer broker property consumer liquor pharma
		Shanghai Shenzhen Hong Kong Nasdaq S&P Dow futures gold oil copper commodity trade export import tariff
		policy stimulus PBOC CSRC regulator IPO listing buyback dividend merger acquisition stake holdings
		quarter annual forecast beat miss record high low volume turnover inflow outflow northbound margin
		volatility risk opportunity strategy sector rotation momentum rebound correction session close open`)
)

// zhVocabulary is zhWords among generated words of two to four characters,
// 30,000 in all, by rank: the real words are spread from rank 2 (very
// common) to about 12,000 (rare), so that queries of every frequency exist.
var zhVocabulary = func() []string {
	rng := rand.New(rand.NewPCG(4, 2))
	var chars []rune
	for _, w := range zhWords {
		chars = append(chars, []rune(w)...)
	}
	vocab := make([]string, 30_000)
	for i := range vocab {
		w := make([]rune, 2+rng.IntN(3))
		for j := range w {
			w[j] = chars[rng.IntN(len(chars))]
		}
		vocab[i] = string(w)
	}
	for i, w := range zhWords {
		vocab[int(2*math.Pow(1.045, float64(i)))+i] = w
	}
	return vocab
}()

func newCorpus() *corpus {
	rng := rand.New(rand.NewPCG(2026, 11))
	return &corpus{
		rng: rng,
		zh:  rand.NewZipf(rng, 1.1, 1, uint64(len(zhVocabulary)-1)),
		en:  rand.NewZipf(rng, 1.1, 4, uint64(len(enWords)-1)),
	}
}

func (c *corpus) sentence(b *strings.Builder, words int) {
	for i := range words {
		if c.rng.IntN(5) == 0 {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(enWords[c.en.Uint64()])
			b.WriteByte(' ')
		} else {
			b.WriteString(zhVocabulary[c.zh.Uint64()])
		}
	}
	b.WriteString("。")
}

// item is the n-th item of the corpus, published n minutes after t0.
func (c *corpus) item(t0 time.Time) feeds.Item {
	c.next++
	var title, body strings.Builder
	c.sentence(&title, 4+c.rng.IntN(4))
	for body.Len() < 1400 {
		body.WriteString("<p>")
		switch c.rng.IntN(4) {
		case 0:
			body.WriteString("<strong>")
			c.sentence(&body, 3)
			body.WriteString("</strong>")
		case 1:
			fmt.Fprintf(&body, `<a href="https://example.org/news/%d.html" rel="nofollow">`, c.rng.IntN(1e6))
			c.sentence(&body, 3)
			body.WriteString("</a>")
		}
		for range 1 + c.rng.IntN(3) {
			c.sentence(&body, 6+c.rng.IntN(8))
		}
		body.WriteString("</p>\n")
	}
	guid := fmt.Sprintf("bench-%d", c.next)
	return searchItem(guid, strings.TrimSuffix(title.String(), "。"), body.String(),
		t0.Add(time.Duration(c.next)*time.Minute))
}

// batch is the next n items, as one poll's result.
func (c *corpus) batch(source string, n int) *feeds.Result {
	items := make([]feeds.Item, n)
	for i := range items {
		items[i] = c.item(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	return result(source, "", items...)
}

// BenchmarkSearch measures searching 100,000 items (built once, through
// Save, in about a minute), reporting the median latency of each kind of
// query and how many entries match it.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	db := mustOpen(b, filepath.Join(b.TempDir(), "bench.db"))
	c := newCorpus()
	start := time.Now()
	for n := 0; n < benchItems; n += 500 {
		src := []string{"stcn", "other"}[n/500%2]
		if _, err := db.Save(ctx, c.batch(src, 500)); err != nil {
			b.Fatal(err)
		}
	}
	indexed(b, db)
	built := time.Since(start)
	start = time.Now()
	// As serve's indexer leaves the index once nothing new is queued.
	if _, err := db.MergeSearch(ctx, func() bool { return false }); err != nil {
		b.Fatal(err)
	}
	size, _ := db.Size()
	b.Logf("built %d items in %v, merged in %v, %d MB", benchItems, built.Round(time.Second), time.Since(start).Round(time.Millisecond), size>>20)

	all := []string{"stcn", "other"}
	for _, bc := range []struct {
		name, q string
		sources []string
	}{
		{"3char", "净流入", all},        // in 5.5 % of the items
		{"3char-common", "成交额", all}, // 78 %
		{"4char-rare", "不及预期", all},  // 0.2 %
		{"2char", "两市", all},         // 99.7 %: LIKE on the newest
		{"2char-mid", "午后", all},     // 1.3 %: through the index
		{"2char-rare", "韧性", all},    // 0.2 %: through the index
		{"1char", "涨", all},          // 32 %: LIKE on the newest
		{"mixed", "科技 ETF", all},     // a short common term and a long one
		{"none", "没有的词", all},        // nowhere: the whole archive walked
		{"3char-1source", "净流入", []string{"stcn"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			q := SearchQuery{Text: bc.q, Sources: bc.sources, Limit: 50}
			all, err := db.Search(ctx, SearchQuery{Text: bc.q, Sources: bc.sources, Limit: benchItems})
			if err != nil {
				b.Fatal(err)
			}
			var durations []time.Duration
			for b.Loop() {
				t := time.Now()
				es, err := db.Search(ctx, q)
				durations = append(durations, time.Since(t))
				if err != nil {
					b.Fatal(err)
				}
				if len(es) != min(len(all), 50) {
					b.Fatalf("%q found %d", bc.q, len(es))
				}
			}
			slices.Sort(durations)
			b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(len(all)), "matches")
		})
	}
}

// BenchmarkIngest saves polls of 50 new items, through Save alone ("save")
// and as a poll does, parsing and normalizing an RSS document first
// ("parse+save"): without search ("noindex"), queueing the items for the
// index as polls do ("queue"), and queueing then indexing them all within
// the timing ("queue+index": the whole cost of search).
func BenchmarkIngest(b *testing.B) {
	for _, parse := range []bool{false, true} {
		for _, mode := range []string{"noindex", "queue", "queue+index"} {
			name := map[bool]string{false: "save", true: "parse+save"}[parse] + "/" + mode
			b.Run(name, func(b *testing.B) {
				defer func(old bool) { indexSearch = old }(indexSearch)
				indexSearch = mode != "noindex"
				ctx := context.Background()
				db := mustOpen(b, filepath.Join(b.TempDir(), "bench.db"))
				c := newCorpus()
				batches := make([]*feeds.Result, b.N)
				bodies := make([][]byte, b.N)
				for i := range batches {
					batches[i] = c.batch("stcn", 50)
					bodies[i] = rssOf(batches[i].Feed)
				}
				b.ResetTimer()
				for i := range b.N {
					r := batches[i]
					if parse {
						f, err := feeds.Parse(bodies[i], "application/rss+xml", "", "https://example.org/stcn.xml", nil)
						if err != nil {
							b.Fatal(err)
						}
						(&feeds.Source{Slug: "stcn"}).Identify(f, r.Attempted)
						r.Feed = f
					}
					if _, err := db.Save(ctx, r); err != nil {
						b.Fatal(err)
					}
				}
				if mode == "queue+index" {
					indexed(b, db)
				}
				b.ReportMetric(float64(50*b.N)/b.Elapsed().Seconds(), "items/s")
			})
		}
	}
}

// rssOf writes f as an RSS 2.0 document.
func rssOf(f *feeds.Feed) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>stcn</title><link>https://example.org/</link><description>bench</description>
`)
	for _, it := range f.Items {
		fmt.Fprintf(&b, `<item><title>%s</title><link>%s</link><guid isPermaLink="false">%s</guid><pubDate>%s</pubDate><description>%s</description></item>
`, html.EscapeString(it.Title), it.Link, it.GUID, it.Published.Format(time.RFC1123Z), html.EscapeString(it.Content))
	}
	b.WriteString("</channel></rss>\n")
	return []byte(b.String())
}

// saveSynthFeeds saves the first polls of n synthetic feeds (the
// benchmarks' sources, package synth) of perSource items each, as a poll
// parses, normalizes and identifies them, alternately into stcn and other.
func saveSynthFeeds(tb testing.TB, db *DB, n, perSource int) {
	tb.Helper()
	for src := range n {
		f, err := feeds.Parse(synth.Feed(src, 1, perSource, 1500), "application/rss+xml", "",
			fmt.Sprintf("https://news%d.example.com/finance/rss.xml", src), nil)
		if err != nil {
			tb.Fatal(err)
		}
		slug := []string{"stcn", "other"}[src%2]
		r := result(slug, "")
		(&feeds.Source{Slug: slug}).Identify(f, r.Attempted)
		r.Feed = f
		if _, err := db.Save(context.Background(), r); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkIndexAll measures building the search index of a cold poll's
// items alone: the 25,000 items of the bench's cold poll (internal/bench:
// 500 sources × 50 items of ~1.5 KB mixed Chinese/English HTML, parsed and
// normalized as a poll stores them), saved and queued once, then for each
// op a copy of that database indexed by IndexAll.
//
//	go test ./storage -run '^$' -bench IndexAll -benchtime 3x -cpuprofile /tmp/index.pprof
func BenchmarkIndexAll(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	template := filepath.Join(dir, "template.db")
	const sources, perSource = 500, 50
	db := mustOpen(b, template)
	saveSynthFeeds(b, db, sources, perSource)
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	var cpu, merge time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		path := filepath.Join(dir, fmt.Sprintf("op%d.db", i))
		if err := copyFile(template, path); err != nil {
			b.Fatal(err)
		}
		db := mustOpen(b, path)
		b.StartTimer()
		c0 := cpuTime()
		n, err := db.IndexAll(ctx)
		cpu += cpuTime() - c0
		if err != nil {
			b.Fatal(err)
		}
		if n != sources*perSource {
			b.Fatalf("indexed %d items, want %d", n, sources*perSource)
		}
		b.StopTimer()
		// What serve's indexer does next, once idle: not in the timing.
		m0 := time.Now()
		if _, err := db.MergeSearch(ctx, func() bool { return false }); err != nil {
			b.Fatal(err)
		}
		merge += time.Since(m0)
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(sources*perSource*b.N)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(merge.Seconds()/float64(b.N), "merge-s/op")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// copyFile copies the file at from to a new file at to.
func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}

// TestSearch_Migration0010: a database indexed by FTS5's trigram tokenizer
// (written at 159862b, migrations 0001–0009) is opened, migration 0010
// queues every item for the new index, and once indexed every search finds
// what it found at 159862b (its results, recorded there, by item id).
func TestSearch_Migration0010(t *testing.T) {
	ctx := context.Background()
	db := openOld(t, "159862b.db")
	var queued, items int
	if err := db.r.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM search_queue), (SELECT count(*) FROM items)").
		Scan(&queued, &items); err != nil {
		t.Fatal(err)
	}
	if items != 20 || queued != items {
		t.Fatalf("%d items queued of %d, want all 20", queued, items)
	}
	blog := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	for q, want := range map[string][]int64{
		"沪指震荡": blog, "复盘": blog, "第1篇": {16}, "篇": blog, "第1": {1, 2, 3, 4, 5, 6, 7, 16},
		"情绪": blog, "a股": {17}, "A": {17}, "高开": {17}, "三大 高开": {17}, "科技股领涨": {20},
		"两市": {19}, "（文章来源": {17}, "上海证券报": {17}, "逆回购": {18}, "万亿元": {19}, "没有": {},
		",": {}, "，": blog, "。": append([]int64{17, 18, 19, 20}, blog...), "16": {1}, "6篇": {1, 11},
	} {
		indexed(t, db)
		es, err := db.Search(ctx, SearchQuery{Text: q, Sources: []string{"blog", "stcn"}, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		got := []int64{}
		for _, e := range es {
			got = append(got, e.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("search %q = %v, at 159862b %v", q, got, want)
		}
	}
}

// segments is how many segments the search index holds: FTS5 keys each
// segment's pages by its id shifted left by 37 bits (fts5Int.h,
// FTS5_SEGMENT_ROWID); the rows below that are its structure and totals,
// and the ids from 65,536 up are the pages of a segment's deleted rows'
// marks (FTS5_TOMBSTONE_ROWID).
func segments(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.r.QueryRow(`SELECT count(DISTINCT id >> 37) FROM items_search_data
		WHERE id >= 1 << 37 AND id >> 37 < 65536`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// bigItems are n items of 3,000 characters of their own each: segments of
// several pages.
func bigItems(n int) []feeds.Item {
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	var items []feeds.Item
	for i := range n {
		rs := make([]rune, 3000)
		for j := range rs {
			rs[j] = rune(0x4E00 + (i*7919+j*104729)%3000)
		}
		items = append(items, searchItem(fmt.Sprint(i), fmt.Sprintf("标题%d", i),
			fmt.Sprintf("<p>正文%d号 shared words %s</p>", i, string(rs)), t0.Add(time.Duration(i)*time.Hour)))
	}
	return items
}

// The background indexer indexes what a poll queued at once, and merges
// the segments once nothing more has been queued for mergeQuiet — or,
// where items keep coming, once mergeEvery has passed since the last merge.
func TestRunIndexer_Merges(t *testing.T) {
	for _, tc := range []struct {
		name              string
		quiet, every      time.Duration
		mergedWhenIndexed bool
	}{
		{"when quiet", time.Second, time.Hour, false},
		{"when overdue", time.Hour, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(old, pages int, q, e time.Duration) {
				indexBatch, mergePages, mergeQuiet, mergeEvery = old, pages, q, e
			}(indexBatch, mergePages, mergeQuiet, mergeEvery)
			indexBatch, mergePages, mergeQuiet, mergeEvery = 1, 1, tc.quiet, tc.every
			ctx, cancel := context.WithCancel(context.Background())
			db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
			done := make(chan struct{})
			go func() { db.RunIndexer(ctx, func(err error) { t.Error(err) }); close(done) }()
			defer func() { cancel(); <-done }()
			if _, err := db.Save(ctx, result("stcn", "", bigItems(40)...)); err != nil {
				t.Fatal(err)
			}
			queued := func() (n int) {
				if err := db.r.QueryRow(`SELECT count(*) FROM search_queue`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			deadline := time.Now().Add(10 * time.Second)
			for queued() > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d items still queued 10 s after the poll", queued())
				}
				time.Sleep(5 * time.Millisecond)
			}
			if !tc.mergedWhenIndexed {
				n0 := segments(t, db)
				time.Sleep(tc.quiet / 4)
				if n := segments(t, db); n != n0 || n <= 3 {
					t.Errorf("%d segments when the queue was empty, %d %v later: merged before %v of quiet", n0, n, tc.quiet/4, tc.quiet)
				}
			}
			for segments(t, db) > 3 {
				if time.Now().After(deadline) {
					t.Fatalf("%d segments 10 s after the poll, want at most 3", segments(t, db))
				}
				time.Sleep(20 * time.Millisecond)
			}
			es, err := db.Search(ctx, SearchQuery{Text: "文7号", Sources: []string{"stcn"}, Limit: 10})
			if err != nil || len(es) != 1 {
				t.Errorf("search after merging: %d entries, %v", len(es), err)
			}
		})
	}
}

// Indexing merges segments 16 at a time; MergeSearch, which the indexer
// runs once nothing has been queued for a while, merges them step by step down to fewer
// than four a level, and searches find exactly what they found before.
func TestMergeSearch(t *testing.T) {
	defer func(old, pages int) { indexBatch, mergePages = old, pages }(indexBatch, mergePages)
	indexBatch = 1 // a segment per item
	mergePages = 1 // many steps: MergeSearch must go on while steps merge
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	items := bigItems(40)
	if _, err := db.Save(ctx, result("stcn", "", items...)); err != nil {
		t.Fatal(err)
	}
	indexed(t, db)
	if n := segments(t, db); n < 6 {
		t.Fatalf("%d segments after 40 batches of one item, want more than 5", n)
	}
	queries := []string{"标题", "文3号", "shared", "wor", "号", "没有", string(rune(0x4E00 + 5))}
	before := map[string][]string{}
	for _, q := range queries {
		before[q] = search(t, db, q, "stcn")
	}
	n0 := segments(t, db)
	if _, err := db.MergeSearch(ctx, func() bool { return true }); err != nil {
		t.Fatal(err)
	}
	if n := segments(t, db); n != n0 {
		t.Errorf("MergeSearch told to stop at once merged: %d segments, %d before", n, n0)
	}
	if _, err := db.MergeSearch(ctx, func() bool { return false }); err != nil {
		t.Fatal(err)
	}
	if n := segments(t, db); n > 3 {
		t.Errorf("%d segments after MergeSearch, want at most 3", n)
	}
	for _, q := range queries {
		if got := search(t, db, q, "stcn"); !slices.Equal(got, before[q]) {
			t.Errorf("search %q after merging: %v, before %v", q, got, before[q])
		}
	}
	if merged, err := db.mergeStep(ctx); err != nil || merged {
		t.Errorf("a step after MergeSearch merged %v (%v): it should have been done", merged, err)
	}
}
