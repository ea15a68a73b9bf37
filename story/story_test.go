package story

import "testing"

func TestURLKey(t *testing.T) {
	same := []string{
		"https://www.stcn.com/article/detail/1000001.html",
		"https://WWW.STCN.com:443/article/detail/1000001.html/",
		"https://stcn.com/article/detail/1000001.html?utm_source=wechat&utm_medium=share",
		"https://stcn.com/article/detail/1000001.html?spm=a2c4g.11186623&from=timeline&share_token=abc#comments",
		"https://stcn.com/article/detail/./1000001.html?isappinstalled=0",
		"http://stcn.com/article/detail/1000001.html",
	}
	want := URLKey(same[0], DefaultTrackingParams)
	if want != "//stcn.com/article/detail/1000001.html" {
		t.Fatalf("URLKey = %q", want)
	}
	for _, u := range same[1:] {
		if got := URLKey(u, DefaultTrackingParams); got != want {
			t.Errorf("URLKey(%q) = %q, want %q", u, got, want)
		}
	}
	// Parameters that select the article stay, in a stable order.
	a := URLKey("http://finance.eastmoney.com/a/news.html?id=2&page=1", DefaultTrackingParams)
	b := URLKey("http://finance.eastmoney.com/a/news.html?page=1&id=2&utm_campaign=x", DefaultTrackingParams)
	if a != b || a != "//finance.eastmoney.com/a/news.html?id=2&page=1" {
		t.Errorf("sorted query: %q vs %q", a, b)
	}
	for _, pair := range [][2]string{
		{"http://a.example/news?id=1", "http://a.example/news?id=2"},
		{"http://x.com/show.asp?id=1;p=2", "http://x.com/show.asp?id=7;p=2"},
	} {
		if URLKey(pair[0], DefaultTrackingParams) == URLKey(pair[1], DefaultTrackingParams) {
			t.Errorf("different articles %s and %s share a key", pair[0], pair[1])
		}
	}
	for _, bad := range []string{"", "/relative/path", "mailto:x@example.org", "ftp://example.org/x"} {
		if got := URLKey(bad, DefaultTrackingParams); got != "" {
			t.Errorf("URLKey(%q) = %q, want empty", bad, got)
		}
	}
}

func TestTitleKey(t *testing.T) {
	a := TitleKey("Ａ股三大指数集体高开，创业板指涨１％")
	for _, s := range []string{"A股三大指数集体高开 创业板指涨1%", "A股三大指数集体高开!创业板指涨1％", " a股 三大指数集体高开——创业板指涨1 "} {
		if got := TitleKey(s); got != a {
			t.Errorf("TitleKey(%q) = %q, want %q", s, got, a)
		}
	}
	if TitleKey("A股三大指數集體高開，創業板指漲1%") == a {
		t.Error("traditional and simplified folded together; they are left alone")
	}
	if TitleKey("快讯") != "" || TitleKey("早盘：") != "" {
		t.Error("short titles must not fingerprint")
	}
}

func TestOrigin(t *testing.T) {
	for html, want := range map[string]string{
		"<p>两市成交额放量。</p><p>（文章来源：上海证券报）</p>":                      "上海证券报",
		"<p>正文……</p><p>来源：新华社</p><p>责任编辑：张三</p>":                  "新华社",
		"<p>据财联社报道，……</p>稿件来源: 中国证券网":                             "中国证券网",
		"<p>没有来源的文章。</p>":                                         "",
		"<p>来源：证券时报网</p>" + string(make([]rune, 0)) + "<p>正文</p>": "证券时报网",
	} {
		if got := Origin(html); got != want {
			t.Errorf("Origin(%q) = %q, want %q", html, got, want)
		}
	}
}
