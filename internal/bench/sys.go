package main

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func procs() int { return runtime.GOMAXPROCS(0) }

// machine describes where the benchmark ran.
type machine struct {
	CPU        string `json:"cpu"`
	NumCPU     int    `json:"nproc"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	MemTotal   string `json:"memory"`
	OS         string `json:"os"`
	Go         string `json:"go"`
}

func describeMachine() machine {
	m := machine{
		CPU:        "unknown",
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Go:         runtime.Version(),
	}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPU = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		if kb, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64); err == nil {
			m.MemTotal = strconv.FormatFloat(float64(kb)/(1<<20), 'f', 1, 64) + " GiB"
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS += ", Linux " + strings.TrimSpace(string(b))
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc
// file whose key is key (spaces and tabs around the colon ignored).
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// procKB reads a "Key: N kB" field of /proc/PID/status in bytes; -1 when
// it cannot.
func procKB(pid int, key string) int64 {
	v := procField("/proc/"+strconv.Itoa(pid)+"/status", key)
	f := strings.Fields(v)
	if len(f) == 0 {
		return -1
	}
	kb, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return -1
	}
	return kb << 10
}

// ioBytes is what /proc/self/io says this process wrote to storage
// (write_bytes: what reached the block layer, or will) and through write
// calls of any kind (wchar: sockets included); -1 when unknown.
func ioBytes() (writeBytes, wchar int64) {
	w := procField("/proc/self/io", "write_bytes")
	c := procField("/proc/self/io", "wchar")
	wb, err1 := strconv.ParseInt(w, 10, 64)
	wc, err2 := strconv.ParseInt(c, 10, 64)
	if err1 != nil || err2 != nil {
		return -1, -1
	}
	return wb, wc
}

// cpuTime is the user+system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
