package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
)

// On a terminal, `poll` shows its progress; in a pipe it stays quiet.
func TestPollProgress(t *testing.T) {
	ts := sources(t)
	cfg := writeConfig(t, t.TempDir(), "127.0.0.1:0", ts.URL, true)

	var out, errOut bytes.Buffer
	Run(context.Background(), []string{"poll", "-config", cfg}, &out, &errOut)
	if strings.Contains(errOut.String(), "polled") {
		t.Errorf("progress written to a pipe: %q", errOut.String())
	}

	// script(1) gives the command a pseudo-terminal.
	script, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("script (util-linux) is needed for a terminal: %v", err)
	}
	tty, err := exec.Command(script, "-qec", binary(t)+" poll -config "+cfg, "/dev/null").CombinedOutput()
	if !strings.Contains(string(tty), "polled 3/3 sources, 1 failed") {
		t.Errorf("no progress on a terminal (err %v):\n%q", err, tty)
	}
}
