package filter

import "testing"

func TestDecide(t *testing.T) {
	src, err := Compile("source stcn", nil, []string{`广告|推广`})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := Compile("category markets", []string{`A股|港股`, `(?i)\bETF\b`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		title, text string
		keep        bool
		why         string
	}{
		{"A股三大指数集体高开", "", true, `category markets: include "A股|港股"`},
		{"科技ETF净流入", "", true, `category markets: include "(?i)\\bETF\\b"`},
		{"央行开展逆回购", "<p>港股午后走强</p>", true, `category markets: include "A股|港股"`},
		{"A股推广活动", "", false, `source stcn: exclude "广告|推广"`},
		{"央行开展逆回购", "", false, "category markets: no include rule matches"},
	} {
		d := Decide(c.title, c.text, src, cat)
		if d.Keep != c.keep || d.Why != c.why {
			t.Errorf("%s: %+v, want keep=%v why=%s", c.title, d, c.keep, c.why)
		}
	}
	if d := Decide("任何", "", nil, &Rules{}); !d.Keep || d.Why != "no rule applies" {
		t.Errorf("no rules: %+v", d)
	}
	if _, err := Compile("source x", []string{"("}, nil); err == nil {
		t.Error("a broken pattern compiled")
	}
}
