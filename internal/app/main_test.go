package app_test

import (
	"os"
	"testing"

	"github.com/feedrelay/feedrelay/internal/pgtest"
)

// TestMain stops the private PostgreSQL the tests started, if any
// (internal/pgtest), once they end.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
