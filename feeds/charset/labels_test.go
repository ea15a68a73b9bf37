package charset_test

import (
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"

	"github.com/feedrelay/feedrelay/feeds/charset"
)

// Labels met in real feeds, under the spellings servers, CMSs and other
// languages' libraries write them (Python's codec names, Java's, Windows'),
// each with text only the right encoding decodes. Each label is tried in the
// XML declaration, in the HTTP Content-Type and as the operator's override.
func TestRealWorldLabels(t *testing.T) {
	cyrillic, western := "Новости: «Привет, мир»", "café “quoted” – 5 €"
	cases := []struct {
		labels []string
		enc    encoding.Encoding // what the text is written in
		text   string
	}{
		{[]string{"MacCyrillic", "x-mac-cyrillic", "mac-cyrillic", "x-MacCyrillic", "Macintosh Cyrillic", "x-mac-ukrainian"}, charmap.MacintoshCyrillic, cyrillic},
		{[]string{"koi8-r", "KOI8-R", "csKOI8R", "koi8_r"}, charmap.KOI8R, "Новости: Привет, мир"},
		{[]string{"koi8-u"}, charmap.KOI8U, "Україна"},
		{[]string{"windows-1251", "cp1251", "CP1251", "x-cp1251", "Windows 1251"}, charmap.Windows1251, cyrillic},
		{[]string{"cp1252", "windows-1252", "Windows-1252"}, charmap.Windows1252, western},
		// WHATWG: latin1 and iso-8859-1 are read as windows-1252, their
		// superset, which is what feeds labelled so send (“ ” € in 0x80–0x9F).
		{[]string{"latin1", "iso-8859-1", "ISO-8859-1", "ISO_8859-1", "iso8859_1", "l1", "us-ascii"}, charmap.Windows1252, western},
		{[]string{"iso-8859-15", "ISO8859-15", "latin-9", "l9", "iso_8859-15"}, charmap.ISO8859_15, "5 € œuvre"},
		{[]string{"iso-8859-2", "latin2"}, charmap.ISO8859_2, "Zażółć gęślą jaźń"},
		{[]string{"ibm850", "cp850", "IBM-850"}, charmap.CodePage850, "Ça va"},
		{[]string{"macintosh", "mac", "x-mac-roman", "csMacintosh"}, charmap.Macintosh, "café"},
		{[]string{"shift_jis", "Shift-JIS", "sjis", "x-sjis", "windows-31j", "MS932", "ms_kanji"}, japanese.ShiftJIS, "日本語のニュース"},
		{[]string{"euc-jp", "EUC-JP", "x-euc-jp"}, japanese.EUCJP, "日本語のニュース"},
		{[]string{"euc-kr", "EUC-KR", "ks_c_5601-1987", "windows-949"}, korean.EUCKR, "한국어 뉴스"},
		{[]string{"big5", "Big5", "big5-hkscs", "x-x-big5", "cn-big5"}, traditionalchinese.Big5, "繁體中文新聞"},
		// WHATWG maps hz-gb-2312 to "replacement"; IANA's HZ decoder reads it.
		{[]string{"hz-gb-2312", "HZ-GB-2312"}, simplifiedchinese.HZGB2312, "中文新闻"},
		// Every GB 2312 / GBK name is read as GB18030: the four-byte 𠀀 survives.
		{[]string{"gbk", "GBK", "GB2312", "gb2312", "csGB2312", "cp936", "CP936", "windows-936", "ms936", "euc-cn", "x-gbk", "gb18030", "GB18030", "chinese", "iso-ir-58"}, simplifiedchinese.GB18030, "证券时报网 𠀀 䶵"},
	}
	for _, c := range cases {
		body := `<rss version="2.0"><channel><title>` + c.text + `</title></channel></rss>`
		encoded, err := c.enc.NewEncoder().String(body)
		if err != nil {
			t.Fatalf("%v cannot write %q: %v", c.enc, c.text, err)
		}
		for _, label := range c.labels {
			t.Run(label, func(t *testing.T) {
				if _, err := charset.Lookup(label); err != nil {
					t.Fatalf("Lookup(%q): %v", label, err)
				}
				decl := `<?xml version="1.0" encoding="` + label + `"?>`
				got, res := convert(t, []byte(decl+encoded), "", "")
				wantText(t, got, c.text)
				if res.Reason != "xml declaration" {
					t.Errorf("declaration: Reason = %q", res.Reason)
				}
				if !strings.ContainsRune(label, ' ') {
					got, _ = convert(t, []byte(encoded), "application/rss+xml; charset="+label, "")
					wantText(t, got, c.text)
				}
				got, _ = convert(t, []byte(encoded), "", label)
				wantText(t, got, c.text)
			})
		}
	}
}

// Names nobody implements are refused with the name, and a name the
// registries list but x/text cannot decode says so instead of turning the
// feed into one U+FFFD (WHATWG's "replacement" encoding).
func TestUnsupportedLabels(t *testing.T) {
	for label, want := range map[string]string{
		"klingon":     `unknown charset "klingon"`,
		"utf-7":       `charset "utf-7" is not supported`,
		"iso-2022-kr": `charset "iso-2022-kr" is not supported`,
		"":            `unknown charset ""`,
	} {
		e, err := charset.Lookup(label)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Lookup(%q) = %v, %v; want an error saying %s", label, e, err, want)
		}
	}
	_, _, err := charset.ToUTF8([]byte(`<?xml version="1.0" encoding="klingon"?><rss/>`), "", "")
	if err == nil || !strings.Contains(err.Error(), `unknown charset "klingon", named by the XML declaration`) {
		t.Errorf("ToUTF8: %v, want the label and where it was named", err)
	}
}
