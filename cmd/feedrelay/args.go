package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// parseArgs parses args into fs, its flags before or after the arguments
// (`export static DIR -ping` as `export static -ping DIR`), and returns
// the arguments; after "--" the rest are arguments. -h and -help print
// the flags and return flag.ErrHelp.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		if i := len(args) - fs.NArg() - 1; i >= 0 && args[i] == "--" {
			return append(rest, fs.Args()...), nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// usageExit is the exit code of a command whose flags parseArgs refused:
// none for a request for help.
func usageExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// isHelp reports whether arg asks for a command's help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// noArgs reports arguments a command takes none of, with a hint for the
// usual slip, a config file named without -config; false when there are.
func noArgs(cmd string, rest []string, stderr io.Writer) bool {
	if len(rest) == 0 {
		return true
	}
	fmt.Fprintf(stderr, "feedrelay %s: unexpected argument %q", cmd, rest[0])
	if strings.HasSuffix(rest[0], ".yaml") || strings.HasSuffix(rest[0], ".yml") {
		fmt.Fprintf(stderr, " (a config file is named with -config: feedrelay %s -config %s)", cmd, rest[0])
	}
	fmt.Fprintln(stderr)
	return false
}

// version is this binary's version, as the Go toolchain recorded it: the
// module version when installed as one, the commit when built from a
// checkout.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if rev != "" {
		v += fmt.Sprintf(" (commit %.12s%s)", rev, modified)
	}
	return v + " " + bi.GoVersion
}
