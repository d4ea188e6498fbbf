package host

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/rs/zerolog"
)

// LogEntry is one line of a bot's log, as `nudge bot logs` shows it.
type LogEntry struct {
	Seq     uint64         `json:"seq"`
	Time    time.Time      `json:"time"`
	Level   string         `json:"level"`
	Source  string         `json:"source"` // "bot" (what the bot wrote) or "host" (what the host says of it)
	Message string         `json:"message"`
	Fields  map[string]any `json:"fields,omitempty"`
}

const (
	ringSize = 1000 // lines kept per bot for `nudge bot logs`
	// A bot may write this many lines a second; more are dropped and
	// counted, so that a bot stuck in a loop cannot fill the disk.
	logRate = 200
)

// botLog is a bot's log: every line goes to the host's zerolog logger with
// the bot's name, and into a ring of recent lines.
type botLog struct {
	zl zerolog.Logger

	mu      sync.Mutex
	ring    []LogEntry
	seq     uint64
	second  int64 // the unix second being counted
	count   int   // lines from the bot in it
	dropped int   // lines dropped since the last report
}

func newBotLog(zl zerolog.Logger) *botLog { return &botLog{zl: zl} }

// emit writes one line. Fields may be nil.
func (l *botLog) emit(level zerolog.Level, source, msg string, fields map[string]any) {
	now := time.Now()
	l.mu.Lock()
	if source == "bot" {
		if s := now.Unix(); s != l.second {
			if l.dropped > 0 {
				l.mu.Unlock()
				l.reportDropped()
				l.mu.Lock()
			}
			l.second, l.count = s, 0
		}
		l.count++
		if l.count > logRate {
			l.dropped++
			if l.dropped == 1 {
				// Said when the second is over, even if the bot
				// says nothing more.
				time.AfterFunc(time.Until(time.Unix(l.second+1, 0)), l.reportDropped)
			}
			l.mu.Unlock()
			return
		}
	}
	l.seq++
	e := LogEntry{Seq: l.seq, Time: now.UTC(), Level: level.String(), Source: source, Message: msg, Fields: fields}
	if len(l.ring) < ringSize {
		l.ring = append(l.ring, e)
	} else {
		l.ring[int((l.seq-1)%ringSize)] = e
	}
	l.mu.Unlock()

	ev := l.zl.WithLevel(level)
	if source == "bot" {
		ev = ev.Str("from", "bot")
	}
	if len(fields) > 0 {
		ev = ev.Fields(fields)
	}
	ev.Msg(msg)
}

// reportDropped logs how many of the bot's lines were dropped, if any,
// since it last did.
func (l *botLog) reportDropped() {
	l.mu.Lock()
	n := l.dropped
	l.dropped = 0
	l.mu.Unlock()
	if n > 0 {
		l.emit(zerolog.WarnLevel, "host", fmt.Sprintf("dropped %d log lines from the bot (more than %d a second)", n, logRate), nil)
	}
}

// since returns the kept lines after seq, oldest first, the last limit of
// them when limit > 0.
func (l *botLog) since(after uint64, limit int) []LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]LogEntry, 0, len(l.ring))
	start := 0
	if len(l.ring) == ringSize {
		start = int(l.seq % ringSize) // the oldest
	}
	for i := range l.ring {
		e := l.ring[(start+i)%len(l.ring)]
		if e.Seq > after {
			out = append(out, e)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out
}

func (l *botLog) info(format string, args ...any) {
	l.emit(zerolog.InfoLevel, "host", fmt.Sprintf(format, args...), nil)
}

func (l *botLog) warn(format string, args ...any) {
	l.emit(zerolog.WarnLevel, "host", fmt.Sprintf(format, args...), nil)
}

func (l *botLog) error(format string, args ...any) {
	l.emit(zerolog.ErrorLevel, "host", fmt.Sprintf(format, args...), nil)
}

// fieldsOf turns hclog's key/value arguments into fields that encode as
// JSON whatever the bot sent.
func fieldsOf(args []any) map[string]any {
	if len(args) == 0 {
		return nil
	}
	out := make(map[string]any, len(args)/2)
	for i := 0; i < len(args); i += 2 {
		key := fmt.Sprint(args[i])
		if key == "timestamp" || key == "@module" || key == "@caller" {
			continue // zerolog stamps its own time; the bot's name is in the logger
		}
		var v any = "(missing)"
		if i+1 < len(args) {
			v = args[i+1]
		}
		switch x := v.(type) {
		case nil, string, bool, int, int64, float64, uint64:
		case error:
			v = x.Error()
		default:
			v = fmt.Sprint(x)
		}
		out[key] = v
	}
	return out
}

// hclogAdapter is the hclog.Logger go-plugin writes to: its own messages
// about the bot ("plugin process exited"), and each line of the bot's
// standard error, which it has parsed from the bot's JSON log (level, message
// and fields kept) or levelled by its [LEVEL] prefix.
type hclogAdapter struct {
	l      *botLog
	source string
	args   []any
}

var _ hclog.Logger = (*hclogAdapter)(nil)

var levels = map[hclog.Level]zerolog.Level{
	hclog.Trace: zerolog.TraceLevel, hclog.Debug: zerolog.DebugLevel, hclog.Info: zerolog.InfoLevel,
	hclog.Warn: zerolog.WarnLevel, hclog.Error: zerolog.ErrorLevel, hclog.NoLevel: zerolog.InfoLevel,
}

func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	zl, ok := levels[level]
	if !ok {
		zl = zerolog.InfoLevel
	}
	if level == hclog.Trace {
		return
	}
	fields := fieldsOf(append(a.args[:len(a.args):len(a.args)], args...))
	if a.source == "host" && level <= hclog.Debug {
		// go-plugin's own chatter ("waiting for RPC address"): for the
		// host's debug log, not for `nudge bot logs`.
		a.l.zl.Debug().Fields(fields).Msg(msg)
		return
	}
	a.l.emit(zl, a.source, msg, fields)
}

func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hclogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hclogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }
func (a *hclogAdapter) IsTrace() bool                 { return false }
func (a *hclogAdapter) IsDebug() bool                 { return true }
func (a *hclogAdapter) IsInfo() bool                  { return true }
func (a *hclogAdapter) IsWarn() bool                  { return true }
func (a *hclogAdapter) IsError() bool                 { return true }
func (a *hclogAdapter) ImpliedArgs() []any            { return a.args }
func (a *hclogAdapter) Name() string                  { return a.source }
func (a *hclogAdapter) SetLevel(hclog.Level)          {}

// GetLevel is Debug: go-plugin skips parsing the bot's lines below it; the
// host's zerolog level filters the rest.
func (a *hclogAdapter) GetLevel() hclog.Level { return hclog.Debug }

func (a *hclogAdapter) With(args ...any) hclog.Logger {
	return &hclogAdapter{l: a.l, source: a.source, args: append(a.args[:len(a.args):len(a.args)], args...)}
}

// Named marks lines that come from the bot: go-plugin names its logger
// after the process (runner.Name, which is "bot") for the bot's standard
// error.
func (a *hclogAdapter) Named(name string) hclog.Logger {
	src := a.source
	if name == "bot" {
		src = "bot"
	}
	return &hclogAdapter{l: a.l, source: src, args: a.args}
}

func (a *hclogAdapter) ResetNamed(name string) hclog.Logger { return a.Named(name) }

func (a *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

func (a *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return &lineWriter{l: a.l, level: zerolog.InfoLevel, source: a.source}
}

// lineWriter logs what is written to it one line at a time: a Go bot's
// prints to its standard output and error, which go-plugin forwards.
type lineWriter struct {
	l      *botLog
	level  zerolog.Level
	source string

	mu  sync.Mutex
	buf []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if line := bytes.TrimRight(w.buf[:i], "\r"); len(line) > 0 {
			w.l.emit(w.level, w.source, string(line), nil)
		}
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a very long line without an end: log what there is
		w.l.emit(w.level, w.source, string(w.buf), nil)
		w.buf = nil
	}
	return len(p), nil
}
