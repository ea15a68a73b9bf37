// Package filter decides which stored items a feed publishes, by the
// include and exclude regular expressions of its sources and categories.
// Rules apply when publishing, so changing one needs no re-fetch.
package filter

import (
	"fmt"
	"regexp"
)

// Rules are one source's or one category's filters.
type Rules struct {
	Name    string // "source stcn", "category markets": for explanations
	Include []*regexp.Regexp
	Exclude []*regexp.Regexp
}

// Compile builds Rules from patterns; errors name the pattern.
func Compile(name string, include, exclude []string) (*Rules, error) {
	r := &Rules{Name: name}
	for _, p := range include {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("include %q: %w", p, err)
		}
		r.Include = append(r.Include, re)
	}
	for _, p := range exclude {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("exclude %q: %w", p, err)
		}
		r.Exclude = append(r.Exclude, re)
	}
	return r, nil
}

// Empty reports whether r keeps everything.
func (r *Rules) Empty() bool { return r == nil || len(r.Include)+len(r.Exclude) == 0 }

// Decision is why an item is kept or dropped.
type Decision struct {
	Keep bool
	Why  string // the rule that decided, e.g. `source stcn: exclude "广告"`
}

// Decide applies every set of rules in turn: an item is kept when each set
// with include rules has one that matches its title or text, and no exclude
// rule matches.
func Decide(title, text string, sets ...*Rules) Decision {
	why := ""
	for _, r := range sets {
		if r.Empty() {
			continue
		}
		for _, re := range r.Exclude {
			if re.MatchString(title) || re.MatchString(text) {
				return Decision{Keep: false, Why: fmt.Sprintf("%s: exclude %q", r.Name, re)}
			}
		}
		if len(r.Include) == 0 {
			continue
		}
		matched := ""
		for _, re := range r.Include {
			if re.MatchString(title) || re.MatchString(text) {
				matched = fmt.Sprintf("%s: include %q", r.Name, re)
				break
			}
		}
		if matched == "" {
			return Decision{Keep: false, Why: r.Name + ": no include rule matches"}
		}
		why = matched
	}
	if why == "" {
		why = "no rule applies"
	}
	return Decision{Keep: true, Why: why}
}
