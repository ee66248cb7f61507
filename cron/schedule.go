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
// Daylight-saving changes are handled as Vixie cron does for expressions whose hour field is
// not "*": a wall-clock time skipped by a spring-forward change runs at the change instead
// (02:30 runs at 03:00 new time), and one that happens twice at a fall-back change runs once,
// at its first occurrence. Expressions with "*" hours run by elapsed time through the change.
func (s Schedule) Next(t time.Time) time.Time {
	switch {
	case s.every > 0:
		return t.Add(s.every).Truncate(time.Second)
	case s.inner == nil:
		return time.Time{}
	}
	spec, ok := s.inner.(*robfig.SpecSchedule)
	if !ok || spec.Hour&starBit != 0 {
		return s.inner.Next(t) // without CRON_TZ, robfig evaluates in t's location
	}
	loc := s.loc
	if loc == nil {
		loc = t.Location()
	}
	n := s.inner.Next(t)
	for i := 0; i < 4 && !n.IsZero() && repeatedWallClock(n, loc); i++ {
		n = s.inner.Next(n)
	}
	if gap := skippedRun(spec, t, n, loc); !gap.IsZero() {
		return gap.In(t.Location())
	}
	return n

}

// starBit is robfig/cron's marker of a field written as "*".
const starBit = 1 << 63

// repeatedWallClock reports whether n's wall-clock time in loc already happened shortly before
// (the second pass through an hour repeated by a fall-back change).
func repeatedWallClock(n time.Time, loc *time.Location) bool {
	w := n.In(loc)
	for _, d := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
		p := n.Add(-d).In(loc)
		if p.Hour() == w.Hour() && p.Minute() == w.Minute() && p.Second() == w.Second() && p.Day() == w.Day() {
			return true
		}
	}
	return false
}

// skippedRun returns the instant of a spring-forward change in (t, n) when a wall-clock time
// that the change skipped matches spec; the zero time otherwise.
func skippedRun(spec *robfig.SpecSchedule, t, n time.Time, loc *time.Location) time.Time {
	if n.IsZero() {
		return time.Time{}
	}
	_, before := t.In(loc).Zone()
	_, after := n.In(loc).Zone()
	if after <= before {
		return time.Time{}
	}
	lo, hi := t, n // the offset changes somewhere in (lo, hi]
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
		if _, off := mid.In(loc).Zone(); off == before {
			lo = mid
		} else {
			hi = mid
		}
	}
	change := hi // first instant with the new offset
	_, newOff := change.In(loc).Zone()
	wall := func(x time.Time, off int) time.Time { // x's wall clock as a UTC time
		return x.Add(time.Duration(off) * time.Second).UTC()
	}
	gapStart, gapEnd := wall(change, before), wall(change, newOff)
	utc := *spec
	utc.Location = time.UTC
	if m := utc.Next(gapStart.Add(-time.Second)); !m.IsZero() && m.Before(gapEnd) && change.After(t) {
		return change
	}
	return time.Time{}
}
