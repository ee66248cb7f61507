package cron

import (
	"fmt"
	"strings"
	"time"

	"github.com/berthdev/berth"
	robfig "github.com/robfig/cron/v3"
)

// Schedule says when a job runs. It is parsed from a cron expression by ParseSchedule.
type Schedule struct {
	expr  string
	loc   *time.Location // nil: the scheduler's location
	inner robfig.Schedule
	every time.Duration // > 0 for "@every D"
}

// ScheduleForms lists the accepted forms of a schedule, as error messages quote them.
const ScheduleForms = `"MIN HOUR DOM MON DOW" (5 fields), "SEC MIN HOUR DOM MON DOW" (6 fields), ` +
	`@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, "@every DURATION" (e.g. @every 30s, 1s minimum), ` +
	`each optionally prefixed by "CRON_TZ=Area/City " (or "TZ=Area/City ")`

var parser = robfig.NewParser(robfig.SecondOptional | robfig.Minute | robfig.Hour | robfig.Dom |
	robfig.Month | robfig.Dow | robfig.Descriptor)

// ParseSchedule parses a cron expression: five fields (minute hour day-of-month month
// day-of-week), six with a leading seconds field, a descriptor (@yearly, @annually, @monthly,
// @weekly, @daily, @midnight, @hourly) or "@every DURATION", each optionally prefixed with
// "CRON_TZ=Zone " to evaluate it in that IANA time zone. Expressions without a zone are evaluated
// in the scheduler's location (time.Local unless WithLocation says otherwise).
//
// Errors are *berth.ValidationError values at path "schedule" that quote the expression and
// list the accepted forms.
func ParseSchedule(expr string) (Schedule, error) {
	s, err := parseSchedule(expr)
	if err != nil {
		return Schedule{}, berth.Invalid("schedule", "%q: %s; accepted: %s", expr, err, ScheduleForms)
	}
	return s, nil
}

func parseSchedule(expr string) (Schedule, error) {
	spec := strings.TrimSpace(expr)
	if spec == "" {
		return Schedule{}, fmt.Errorf("empty")
	}
	s := Schedule{expr: expr}
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
		zone, rest, ok := strings.Cut(spec[strings.Index(spec, "=")+1:], " ")
		if !ok || strings.TrimSpace(rest) == "" {
			return Schedule{}, fmt.Errorf("time zone %q is not followed by an expression", zone)
		}
		loc, err := loadLocation(zone)
		if err != nil {
			return Schedule{}, err
		}
		s.loc, spec = loc, strings.TrimSpace(rest)
	}
	if strings.HasPrefix(spec, "@every") {
		return s.parseEvery(spec)
	}
	inner, err := parser.Parse(spec)
	if err != nil {
		return Schedule{}, err
	}
	s.inner = inner
	if spec, ok := inner.(*robfig.SpecSchedule); ok && s.loc != nil {
		spec.Location = s.loc
	}
	if s.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return Schedule{}, fmt.Errorf("matches no date (e.g. 30 February)")
	}
	return s, nil
}

func (s Schedule) parseEvery(spec string) (Schedule, error) {
	arg, ok := strings.CutPrefix(spec, "@every ")
	if !ok {
		return Schedule{}, fmt.Errorf("unrecognized descriptor %q", spec)
	}
	d, err := time.ParseDuration(strings.TrimSpace(arg))
	if err != nil {
		return Schedule{}, fmt.Errorf("@every: %w", err)
	}
	if d < time.Second {
		return Schedule{}, fmt.Errorf("@every %s: the interval must be at least 1s", d)
	}
	if d%time.Second != 0 {
		return Schedule{}, fmt.Errorf("@every %s: the interval must be whole seconds", d)
	}
	s.every = d
	return s, nil
}

// loadLocation loads an IANA zone, refusing "Local" and empty names (they would silently mean
// the host's zone).
func loadLocation(zone string) (*time.Location, error) {
	if zone == "" || zone == "Local" {
		return nil, fmt.Errorf("time zone %q: name an IANA zone such as UTC or Europe/Paris", zone)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as UTC or Asia/Seoul)", zone)
	}
	return loc, nil
}

// MustParseSchedule is ParseSchedule that panics on error, for expressions in code.
func MustParseSchedule(expr string) Schedule {
	s, err := ParseSchedule(expr)
	if err != nil {
		panic(err)
	}
	return s
}

// String returns the expression as given.
func (s Schedule) String() string { return s.expr }

// IsZero reports whether s is the zero Schedule (never runs).
func (s Schedule) IsZero() bool { return s.inner == nil && s.every == 0 }

// Location returns the zone named by CRON_TZ, or nil when the expression named none.
func (s Schedule) Location() *time.Location { return s.loc }

// Every returns the interval of an "@every" schedule, or 0.
func (s Schedule) Every() time.Duration { return s.every }

// Next returns the first activation strictly after t, in t's location. Expressions without
// CRON_TZ are evaluated in t's location. "@every D" schedules activate D after t, on a whole
// second. The zero time means never.
//
// Daylight-saving changes follow robfig/cron v3: a wall-clock time that does not exist (skipped
// by a spring-forward change) is not run that day; one that happens twice (a fall-back change)
// runs twice when the hour field names it, once per occurrence.
func (s Schedule) Next(t time.Time) time.Time {
	switch {
	case s.every > 0:
		return t.Add(s.every).Truncate(time.Second)
	case s.inner == nil:
		return time.Time{}
	}
	return s.inner.Next(t) // without CRON_TZ, robfig evaluates in t's location

}
