package bench

import (
	"context"
	"fmt"
	"time"
)

// clock reads the processor time, user and system, one process (or a
// set of them) has used so far.
type clock func() (time.Duration, error)

// serverClock reads the servers' clock: process_cpu_seconds_total from
// each node's /metrics, added up. Divided by the operations done between
// two readings it is the servers' CPU per operation, which a machine busy
// with other work distorts far less than a rate. It fails when a node does
// not export it.
func (b *runner) serverClock(ctx context.Context) clock {
	return func() (time.Duration, error) {
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
		return time.Duration(sum * float64(time.Second)), nil
	}
}

// perMessage is the CPU between two readings in microseconds per message,
// or 0 when there is nothing to divide.
func perMessage(cpu time.Duration, messages int64) float64 {
	if messages <= 0 || cpu <= 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / float64(messages)
}

// cpuMark is the CPU time the load generator and the process it measures
// (the servers, or the baseline relay) had used at one moment; cost, at
// the end of a phase, divides each side's difference by what it did.
type cpuMark struct {
	other          clock // nil when the measured side has no clock
	self, then     time.Duration
	selfOK, thenOK bool
}

// markCPU reads both clocks; a side that cannot be read is left out of
// the cost.
func markCPU(other clock) cpuMark {
	m := cpuMark{other: other}
	if other != nil {
		t, err := other()
		m.then, m.thenOK = t, err == nil
	}
	// After the other side's: reading its clock belongs to no phase.
	m.self, m.selfOK = ProcessCPU()
	return m
}

// cost is the CPU per operation, in microseconds, each side spent since
// the mark on n operations: the load generator's, then the measured
// side's; 0 for a side that could not be read.
func (m cpuMark) cost(n int64) (self, other float64) {
	now, ok := ProcessCPU()
	if ok && m.selfOK {
		self = perMessage(now-m.self, n)
	}
	if m.other != nil && m.thenOK {
		if t, err := m.other(); err == nil {
			other = perMessage(t-m.then, n)
		}
	}
	return self, other
}
