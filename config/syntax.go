package config

import (
	"bytes"
	"strings"

	"go.yaml.in/yaml/v3"
)

// syntaxError describes a file yaml.v3 cannot read at all.
//
// yaml.v3 gives the position of a syntax error only inside its message, and
// not reliably: it names where the enclosing construct began when it knows
// that, else where the problem is, counted from 0 for some problems and
// from 1 for others, and leaves the line out when it counts 0 (a tab on
// line 6 comes out as "line 5"). So the line is not read from the message:
// it is the first line whose end makes the text fail the way the whole file
// does. Up to the line before, yaml read the text without that error; the
// error is found once that line is read. The two errors are compared whole,
// without looking into their wording.
func syntaxError(file string, data []byte, err error) *Error {
	e := &Error{File: file, Line: failingLine(data, err.Error()), Msg: yamlProblem(err.Error())}
	if e.Line > 0 && tabIndented(data, e.Line) {
		e.Msg = "indented with a tab; YAML indents with spaces only"
	}
	return e
}

// failingLine is the 1-based line at which parsing data starts to fail
// with the message want, or 0 if no prefix does.
func failingLine(data []byte, want string) int {
	line := 0
	for end := 0; end < len(data); {
		line++
		if i := bytes.IndexByte(data[end:], '\n'); i >= 0 {
			end += i + 1
		} else {
			end = len(data)
		}
		var n yaml.Node
		if err := yaml.Unmarshal(data[:end], &n); err != nil && err.Error() == want {
			return line
		}
	}
	return 0
}

// yamlProblem is yaml.v3's message without its "yaml: " and "line N: "
// prefixes, which would repeat (or contradict) our file:line. Should the
// message change shape, it is shown as it is.
func yamlProblem(msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok && strings.Trim(num, "0123456789") == "" {
			return text
		}
	}
	return msg
}

// tabIndented reports whether the given line of data has a tab in its
// indentation, which YAML does not allow.
func tabIndented(data []byte, line int) bool {
	lines := bytes.Split(data, []byte("\n"))
	if line > len(lines) {
		return false
	}
	l := lines[line-1]
	indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
	return bytes.IndexByte(indent, '\t') >= 0
}
