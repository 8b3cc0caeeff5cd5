package main

import (
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"time"
)

// GOMEMLIMIT only makes the collector work harder: a template that builds a huge string (a `range`
// over millions) still grows without bound. Past PARAPET_RENDER_MEMORY_MIB of live heap the process
// stops itself, naming the limit, and the engine reports that build as failed and starts a new one.
func startMemoryWatchdog() {
	mib, err := strconv.ParseInt(os.Getenv("PARAPET_RENDER_MEMORY_MIB"), 10, 64)
	if err != nil || mib <= 0 {
		return
	}
	limit := uint64(mib) << 20
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		for range time.Tick(50 * time.Millisecond) {
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > limit {
				fmt.Fprintf(os.Stderr, "render: the build used more than %d MiB of memory and was stopped\n", mib)
				os.Exit(3)
			}
		}
	}()
}
