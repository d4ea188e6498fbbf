// Package metrics holds the service's Prometheus metrics, so that every
// server reports into one registry that /metrics serves.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the counters and gauges of one service instance.
type Metrics struct {
	Registry *prometheus.Registry

	// Connections open now, by server ("ds", "ns", "sb").
	Connections *prometheus.GaugeVec
	// Sessions signed in now.
	Sessions prometheus.Gauge
	// Logins by method ("md5", "twn") and result ("ok", "failed").
	Logins *prometheus.CounterVec
	// Commands read, by server.
	Commands *prometheus.CounterVec
	// Errors sent to clients, by server and code.
	Errors *prometheus.CounterVec
	// Messages relayed by switchboards.
	Messages prometheus.Counter
	// Switchboard sessions open now.
	Switchboards prometheus.Gauge
	// Connections cut off because they read too slowly, by server.
	SlowConsumers *prometheus.CounterVec
	// Passport requests by endpoint and result.
	Passport *prometheus.CounterVec
	// Refused counts connections and requests turned away by a limit, by
	// server ("ns", "ds", "sb", "gateway") and limit.
	Refused *prometheus.CounterVec
	// SignInThrottled counts sign-in attempts delayed or refused after
	// failed ones, by endpoint ("md5", "login2", "rst"), scope ("address",
	// "account") and action ("delayed", "refused").
	SignInThrottled *prometheus.CounterVec
	// PasswordHashCost is the bcrypt cost of stored password hashes
	// (login.bcrypt_cost), which every password check pays: a load
	// generator warns when it is above the cheapest.
	PasswordHashCost prometheus.Gauge
}

// New registers the metrics in a fresh registry, with the Go runtime and
// process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nudge_connections", Help: "Open client connections, by server."}, []string{"server"}),
		Sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nudge_sessions", Help: "Signed-in users."}),
		Logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nudge_logins_total", Help: "Login attempts, by method and result."}, []string{"method", "result"}),
		Commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nudge_commands_total", Help: "Commands read from clients, by server."}, []string{"server"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nudge_errors_total", Help: "Error replies sent to clients, by server and code."}, []string{"server", "code"}),
		Messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nudge_messages_total", Help: "Messages relayed by switchboards."}),
		Switchboards: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nudge_switchboards", Help: "Open switchboard sessions."}),
		SlowConsumers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nudge_slow_consumers_total", Help: "Connections cut off for reading too slowly, by server."}, []string{"server"}),
		Passport: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nudge_passport_requests_total", Help: "Passport requests, by endpoint and result."}, []string{"endpoint", "result"}),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nudge_refused_total", Help: "Connections and requests turned away by a limit, by server and limit."}, []string{"server", "limit"}),
		SignInThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nudge_signin_throttled_total", Help: "Sign-in attempts delayed or refused after failed ones, by endpoint, scope and action."},
			[]string{"endpoint", "scope", "action"}),
		PasswordHashCost: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nudge_password_hash_cost", Help: "The bcrypt cost every password check pays (login.bcrypt_cost)."}),
	}
	r.MustRegister(m.Connections, m.Sessions, m.Logins, m.Commands, m.Errors, m.Messages, m.Switchboards, m.SlowConsumers, m.Passport,
		m.Refused, m.SignInThrottled, m.PasswordHashCost,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
