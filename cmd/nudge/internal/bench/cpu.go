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

// cpuMark is the CPU time the load generator and the servers measured had
// used at one moment; the difference between two marks, divided by what a
// phase did, is each side's CPU per operation.
type cpuMark struct {
	self, server     time.Duration
	selfOK, serverOK bool
}

// cpuMark reads both clocks; servers that do not export their CPU time
// are left out.
func (b *runner) cpuMark(ctx context.Context) cpuMark {
	var m cpuMark
	s, err := b.serverCPU(ctx)
	m.server, m.serverOK = time.Duration(s*float64(time.Second)), err == nil
	// After the servers': reading their /metrics belongs to no phase.
	m.self, m.selfOK = ProcessCPU()
	return m
}

// cpuCost is the CPU per operation, in microseconds, each side spent
// since start on n operations; 0 for a side that could not be read.
func (b *runner) cpuCost(ctx context.Context, start cpuMark, n int) (bench, server float64) {
	self, selfOK := ProcessCPU()
	end := b.cpuMark(ctx)
	if selfOK && start.selfOK {
		bench = perMessage(self-start.self, int64(n))
	}
	if end.serverOK && start.serverOK {
		server = perMessage(end.server-start.server, int64(n))
	}
	return bench, server
}
