// Package attribution is the template that ends every republished entry
// (the config's `attribution`): what it sees, and how it is read. It is
// its own package so that config, which checks the template, and
// publish, which runs it, share one definition of what it sees.
package attribution

import (
	"fmt"
	"html/template"
	"io"
)

// Line is what the attribution template sees for an entry.
type Line struct {
	Source string // the source polled, as configured
	Origin string // the original publisher the article names, if not Source
	Link   string // the original article
	Author string // the entry's author as published
}

// Fields names what the template sees, for error messages.
const Fields = ".Source, .Origin, .Link and .Author"

// Parse reads text as the attribution template and runs it once on an
// entry with every field set and once on one with none, so that what
// fails only when it runs (a misspelt field, a field of a string) fails
// here, with the configuration, rather than on every page. Both runs
// cover either side of an {{if}} or {{with}} on a field.
func Parse(text string) (*template.Template, error) {
	t, err := template.New("attribution").Parse(text)
	if err != nil {
		return nil, err
	}
	full := Line{Source: "证券时报网", Origin: "新华社", Link: "https://example.org/2026/1.html", Author: "张三"}
	for _, l := range []Line{full, {}} {
		if err := t.Execute(io.Discard, l); err != nil {
			return nil, fmt.Errorf("%w (it sees %s)", err, Fields)
		}
	}
	return t, nil
}
