package config

import "testing"

// allow_private_networks is set globally, per source, or both (the
// source's own value wins).
func TestAllowPrivateNetworks(t *testing.T) {
	const sources = `
categories: [{slug: news, title: News}]
sources:
  - {name: a, url: "http://a.example/feed", categories: [news]}
  - {name: b, url: "http://b.example/feed", categories: [news], allow_private_networks: true}
  - {name: c, url: "http://c.example/feed", categories: [news], allow_private_networks: false}
`
	for _, tc := range []struct {
		global  string
		a, b, c bool
	}{
		{"", false, true, false},
		{"allow_private_networks: true\n", true, true, false},
	} {
		c, err := Parse("feedrelay.yaml", []byte(tc.global+sources))
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []bool{tc.a, tc.b, tc.c} {
			if got := c.Sources[i].AllowPrivateNetworks; got != want {
				t.Errorf("%q: source %s: allow_private_networks %v, want %v", tc.global, c.Sources[i].Name, got, want)
			}
		}
	}
	if _, err := Parse("feedrelay.yaml", []byte("allow_private_networks: sometimes\n"+sources)); err == nil {
		t.Error(`allow_private_networks: sometimes was accepted`)
	} else {
		t.Log(err)
	}
}
