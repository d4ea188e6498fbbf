package bench

import (
	"context"
	"fmt"
	"time"
)

// serverCPU is the processor time the servers have used so far, in
// seconds: process_cpu_seconds_total from each node's /metrics, added up.
// Divided by the operations done between two readings it is the servers'
// CPU per operation, which a machine busy with other work distorts far
// less than a rate. It fails when a node does not export it.
func (b *runner) serverCPU(ctx context.Context) (float64, error) {
	seen := map[string]bool{}
	var sum float64
	for _, base := range b.opts.HTTP {
		if seen[base] {
			continue
		}
		seen[base] = true
		m, err := b.metrics(ctx, base)
		if err != nil {
			return 0, err
		}
		v, ok := m["process_cpu_seconds_total"]
		if !ok {
			return 0, fmt.Errorf("%s/metrics has no process_cpu_seconds_total", base)
		}
		sum += v
	}
	return sum, nil
}

// perMessage is the CPU between two readings in microseconds per message,
// or 0 when there is nothing to divide.
func perMessage(cpu time.Duration, messages int64) float64 {
	if messages <= 0 || cpu <= 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / float64(messages)
}
