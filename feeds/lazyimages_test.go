package feeds

import (
	"fmt"
	"strings"
	"testing"
)

const gif1px = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"

func TestLazyImages(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`<img src="` + gif1px + `" data-src="/img/chart2.png">`, `<img src="/img/chart2.png">`},
		{`<img src="/img/blank.gif" data-src="/img/a1.jpg" alt="板块" class="lazy">`, `<img src="/img/a1.jpg" alt="板块" class="lazy">`},
		{`<img data-original="../img/a2.jpg">`, `<img src="../img/a2.jpg">`},
		{`<img data-lazy-src="https://example.org/wp-content/uploads/k.png" src="` + gif1px + `"/>`, `<img src="https://example.org/wp-content/uploads/k.png"/>`},
		{`<img data-actualsrc="/z.jpg" src="/p.png" data-original="/o.jpg">`, `<img src="/o.jpg">`}, // first in the order of lazyAttrs
		{`<img data-src=" " data-original="/o.jpg">`, `<img src="/o.jpg">`},                         // empty: the next one
		{`<img data-src="` + gif1px + `" data-original="/o.jpg">`, `<img src="/o.jpg">`},            // a data: URI: the next one
		{`<img data-src="/a.png?x=1&amp;y=&quot;2&quot;">`, `<img src="/a.png?x=1&amp;y=&#34;2&#34;">`},
		// Left byte for byte.
		{`<img src="` + gif1px + `" data-src="` + gif1px + `">`, `<img src="` + gif1px + `" data-src="` + gif1px + `">`},
		{`<div data-src="/bg.png">x</div>`, `<div data-src="/bg.png">x</div>`},
		{`<p>x</p><!-- <img data-src="/c.png"> --><script>s='<img data-src="/s.png">'</script>`, `<p>x</p><!-- <img data-src="/c.png"> --><script>s='<img data-src="/s.png">'</script>`},
		{`<p title='<img data-src="/t.png">'>x</p>`, `<p title='<img data-src="/t.png">'>x</p>`},
		{`<P CLASS=a>x &amp; y</P><img data-srcset="/a.png 2x">`, `<P CLASS=a>x &amp; y</P><img data-srcset="/a.png 2x">`},
		{`<p>x</p><img data-src="/cut.png"`, `<p>x</p><img data-src="/cut.png"`},
	} {
		if got := lazyImages(tc.in); got != tc.want {
			t.Errorf("lazyImages(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// What a reader gets: the lazy address, resolved, never the placeholder;
// and a lazy address is sanitized like any src.
func TestSanitizeLazyImages(t *testing.T) {
	base := mustURL("https://news.example.cn/article/detail/2.html")
	for _, tc := range []struct{ in, want string }{
		{`<p>盘面上，<img src="` + gif1px + `" data-src="/img/chart2.png" alt="分时图"></p>`, `<p>盘面上，<img src="https://news.example.cn/img/chart2.png" alt="分时图"></p>`},
		{`<p><img data-original="../img/a2.jpg" loading="lazy"></p>`, `<p><img src="https://news.example.cn/article/img/a2.jpg"></p>`},
		{`<p><img src="/blank.gif" data-src="javascript:alert(1)">x</p>`, `<p>x</p>`},
		{`<p><img data-src=" JaVaScRiPt:alert(1)" onerror="alert(1)">x</p>`, `<p>x</p>`},
	} {
		if got := sanitize(tc.in, base); got != tc.want {
			t.Errorf("sanitize(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// FuzzLazyImages: lazyImages leaves a fragment without lazy images as it
// is, and once applied it has nothing more to do.
func FuzzLazyImages(f *testing.F) {
	for _, s := range hostileHTML {
		f.Add(s)
	}
	f.Add(`<img src="` + gif1px + `" data-src="/img/chart2.png"><p>x</p>`)
	f.Add(`<img data-original='../a.jpg' alt=x /><img data-lazy-src=b data-actualsrc=c>`)
	f.Add(`<img =x data-src=a><img data-src=a a"b=c>`)
	f.Fuzz(func(t *testing.T, in string) {
		once := lazyImages(in)
		if !mayHaveLazyImage(in) && once != in {
			t.Errorf("lazyImages(%q) = %q: changed a fragment without lazy images", in, once)
		}
		if twice := lazyImages(once); twice != once {
			t.Errorf("lazyImages(%q) = %q, then %q: not done in one pass", in, once, twice)
		}
	})
}

// BenchmarkSanitizeLazy sanitizes a news article of ~2 KB with three lazy
// images, and the same article with plain images: what the lazy-image
// step costs where it has work to do.
func BenchmarkSanitizeLazy(b *testing.B) {
	var lazy, plain strings.Builder
	for i := range 3 {
		p := strings.Repeat("沪指午后翻红，券商板块集体走强。", 10)
		fmt.Fprintf(&lazy, `<p>%s</p><p><img src="%s" data-src="/img/%d.jpg" alt="图"></p>`, p, gif1px, i)
		fmt.Fprintf(&plain, `<p>%s</p><p><img src="/img/%d.jpg" alt="图"></p>`, p, i)
	}
	base := mustURL("https://news.example.cn/article/detail/2.html")
	for _, bc := range []struct{ name, in string }{{"lazy", lazy.String()}, {"plain", plain.String()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sanitize(bc.in, base)
			}
		})
	}
}
