package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/feedrelay/feedrelay/config"
	"github.com/feedrelay/feedrelay/storage"
)

const backupUsage = `usage: feedrelay backup [-config config.yaml] FILE

Writes a consistent copy of the config's database to FILE, replacing FILE
atomically if it exists. Safe while feedrelay serve runs on the database.
`

// runBackup is `feedrelay backup [-config config.yaml] FILE`.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, backupUsage, "\nflags:\n")
		fs.PrintDefaults()
	}
	configPath := fs.String("config", "config.yaml", "config file")
	files, err := parseArgs(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if len(files) != 1 {
		fmt.Fprint(stderr, "feedrelay backup: want one FILE to write the backup to\n\n", backupUsage)
		return exitUsage
	}
	file := files[0]
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	start := time.Now()
	if err := storage.BackupFile(ctx, cfg.Database, file); err != nil {
		fmt.Fprintln(stderr, "feedrelay:", err) // names the database and file
		return exitFailed
	}
	fi, err := os.Stat(file)
	if err != nil {
		fmt.Fprintf(stderr, "feedrelay: backup to %s failed: %v\n", file, err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s: %d bytes (%s), copied from %s in %v\n",
		file, fi.Size(), humanSize(fi.Size()), cfg.Database, time.Since(start).Round(time.Millisecond))
	return exitOK
}

func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
