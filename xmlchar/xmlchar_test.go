package xmlchar

import "testing"

func TestClean(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"两市 plain\ttext\r\n", "两市 plain\ttext\r\n"},
		{"a\x00b\x01c\x08d\x1fe", "abcde"},
		{"\x0b\x0c", ""},
		{"x\uFFFEy\uFFFFz", "xyz"},
		{"\uFFFD and \U0010FFFF stay", "\uFFFD and \U0010FFFF stay"},
		{"\u007f\u0085\u009f", "\u007f\u0085\u009f"}, // allowed, if discouraged
		{"bad \xff byte\x01", "bad \xff byte"},
	} {
		if got := Clean(c.in); got != c.want {
			t.Errorf("Clean(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestAllowed(t *testing.T) {
	for r, want := range map[rune]bool{
		0: false, 1: false, 8: false, '\t': true, '\n': true, 0x0b: false, '\r': true, 0x1f: false, ' ': true,
		0xD7FF: true, 0xD800: false, 0xDFFF: false, 0xE000: true, 0xFFFD: true, 0xFFFE: false, 0xFFFF: false,
		0x10000: true, 0x10FFFF: true, 0x110000: false,
	} {
		if got := Allowed(r); got != want {
			t.Errorf("Allowed(%U) = %v, want %v", r, got, want)
		}
	}
}
