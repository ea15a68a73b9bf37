package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/feedrelay/feedrelay/internal/app"
)

// categoryCount is how many categories the sources are spread over (round
// robin): a category feed gathers a fifth of the sources.
const categoryCount = 5

// benchConfig is the YAML of a feedrelay config polling n sources of o.
type benchConfig struct {
	listen      string
	database    string
	concurrency int // 0: feedrelay's default
	perHost     int // 0: feedrelay's default
	interval    string
	logLevel    string
	sources     int
	url         func(i int) string
}

func (c benchConfig) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by go run ./internal/bench: %d synthetic sources on 127.0.0.1.\n", c.sources)
	if c.listen != "" {
		fmt.Fprintf(&b, "listen: %s\nbase_url: http://%s/\n", c.listen, c.listen)
	} else {
		b.WriteString("base_url: http://feedrelay.bench/\n")
	}
	fmt.Fprintf(&b, "database: %s\ntimezone: Asia/Shanghai\n", c.database)
	if c.concurrency > 0 {
		fmt.Fprintf(&b, "concurrency: %d\n", c.concurrency)
	}
	if c.perHost > 0 {
		// Every synthetic source is on 127.0.0.1: with the default of 2
		// per host, the concurrency would never be reached.
		fmt.Fprintf(&b, "per_host_concurrency: %d\n", c.perHost)
	}
	if c.logLevel != "" {
		fmt.Fprintf(&b, "log: {level: %s}\n", c.logLevel)
	}
	if c.interval != "" {
		fmt.Fprintf(&b, "defaults: {interval: %s}\n", c.interval)
	}
	b.WriteString("categories:\n")
	for k := range categoryCount {
		fmt.Fprintf(&b, "  - {slug: c%d, title: 基准分类 %d}\n", k, k)
	}
	b.WriteString("sources:\n")
	for i := range c.sources {
		fmt.Fprintf(&b, "  - {name: 基准源 %d, slug: s%d, url: %q, categories: [c%d]}\n", i, i, c.url(i), i%categoryCount)
	}
	return b.String()
}

// writeConfig writes c to dir/name and loads it as feedrelay would.
func writeConfig(dir, name string, c benchConfig) (app.Config, string, error) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(c.yaml()), 0o644); err != nil {
		return app.Config{}, "", err
	}
	cfg, err := app.LoadConfig(path)
	if err != nil {
		return app.Config{}, "", fmt.Errorf("bench config: %w", err)
	}
	return cfg, path, nil
}
