package feedstest

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// CorpusFile is one row of a corpus MANIFEST.tsv (feeds/testdata/corpus:
// real-world inputs from other feed parsers' test suites, with their
// origin, licence and the HTTP headers their origin test served them with).
type CorpusFile struct {
	Path       string // relative to the corpus directory, slash-separated
	Origin     string // repository@commit and path
	Format     string // e.g. "rss2.0", "atom1.0", "jsonfeed1.1", "json(INVALID)"
	Encoding   string // "declared=…; decode=…"
	WellFormed string
	Headers    http.Header // to send with the file
	Expected   string      // the behaviour its origin states
	Notes      string
	Licence    string
}

// DecodeOK reports whether the MANIFEST says the file decodes cleanly in
// its true encoding ("decode=ok:…").
func (f CorpusFile) DecodeOK() bool { return strings.Contains(f.Encoding, "decode=ok:") }

// ReadCorpus reads dir/MANIFEST.tsv.
func ReadCorpus(dir string) ([]CorpusFile, error) {
	name := filepath.Join(dir, "MANIFEST.tsv")
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	r.Comma = '\t'
	r.LazyQuotes = true
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(recs) < 2 || recs[0][0] != "file" {
		return nil, fmt.Errorf("%s: unexpected header %q", name, recs[0])
	}
	var files []CorpusFile
	for i, rec := range recs[1:] {
		if len(rec) < 10 {
			return nil, fmt.Errorf("%s: row %d: short row %q", name, i+2, rec)
		}
		f := CorpusFile{Path: rec[0], Origin: rec[1] + " " + rec[2], Format: rec[3], Encoding: rec[4],
			WellFormed: rec[5], Headers: http.Header{}, Expected: rec[7], Notes: rec[8], Licence: rec[9]}
		// The column holds the origin's "Header:" lines, without the
		// "Header:" prefix, one per line.
		for _, line := range strings.Split(rec[6], "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "Header:"))
			if line == "" || line == "-" {
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("%s: %s: bad header %q", name, f.Path, line)
			}
			f.Headers.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		files = append(files, f)
	}
	return files, nil
}

// CorpusHandler serves the files of dir at /{Path}, with the MANIFEST's
// headers. A file without a Content-Type header is served without one (no
// sniffing), as its origin test did; gzip files are served with
// Content-Encoding: gzip, as node-feedparser's tests do, so that the
// fetcher's transparent gunzip is used.
func CorpusHandler(dir string, files []CorpusFile) http.Handler {
	byPath := map[string]CorpusFile{}
	for _, f := range files {
		byPath["/"+f.Path] = f
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		f, ok := byPath[req.URL.Path]
		if !ok {
			http.NotFound(w, req)
			return
		}
		body, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header()["Content-Type"] = nil // no sniffed default
		for k, vs := range f.Headers {
			w.Header()[http.CanonicalHeaderKey(k)] = vs
		}
		if IsGzip(body) {
			w.Header().Set("Content-Encoding", "gzip")
		}
		w.Write(body)
	})
}

// IsGzip reports whether body is gzip-compressed.
func IsGzip(body []byte) bool { return bytes.HasPrefix(body, []byte{0x1f, 0x8b}) }
