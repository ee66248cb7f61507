package cron

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestScheduleNext(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	utc := time.UTC
	cases := []struct {
		name, expr string
		from       time.Time
		want       []string // successive activations, RFC 3339 in from's location
	}{
		{"five fields", "0 9 * * 1-5", time.Date(2026, 1, 2, 10, 0, 0, 0, utc), // a Friday
			[]string{"2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z"}},
		{"seconds field", "*/20 * * * * *", time.Date(2026, 1, 1, 0, 0, 5, 0, utc),
			[]string{"2026-01-01T00:00:20Z", "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z"}},
		{"names", "0 0 1 jan,jul *", time.Date(2026, 2, 1, 0, 0, 0, 0, utc),
			[]string{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
		{"@hourly", "@hourly", time.Date(2026, 1, 1, 10, 30, 0, 0, utc),
			[]string{"2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z"}},
		{"@daily", "@daily", time.Date(2026, 1, 1, 10, 30, 0, 0, utc),
			[]string{"2026-01-02T00:00:00Z"}},
		{"@midnight", "@midnight", time.Date(2026, 1, 1, 10, 30, 0, 0, utc),
			[]string{"2026-01-02T00:00:00Z"}},
		{"@weekly", "@weekly", time.Date(2026, 1, 1, 0, 0, 0, 0, utc), // Sundays
			[]string{"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"}},
		{"@monthly", "@monthly", time.Date(2026, 1, 15, 0, 0, 0, 0, utc),
			[]string{"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"}},
		{"@yearly", "@yearly", time.Date(2026, 1, 15, 0, 0, 0, 0, utc),
			[]string{"2027-01-01T00:00:00Z"}},
		{"@annually", "@annually", time.Date(2026, 1, 15, 0, 0, 0, 0, utc),
			[]string{"2027-01-01T00:00:00Z"}},
		{"@every on whole seconds", "@every 90s", time.Date(2026, 1, 1, 0, 0, 0, 400e6, utc),
			[]string{"2026-01-01T00:01:30Z", "2026-01-01T00:03:00Z"}},
		{"CRON_TZ", "CRON_TZ=Asia/Seoul 0 9 * * *", time.Date(2026, 1, 1, 12, 0, 0, 0, utc),
			[]string{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"}},
		{"TZ", "TZ=Europe/Paris 30 8 * * *", time.Date(2026, 7, 1, 0, 0, 0, 0, utc),
			[]string{"2026-07-01T06:30:00Z"}},
		{"CRON_TZ descriptor", "CRON_TZ=Asia/Seoul @daily", time.Date(2026, 1, 1, 12, 0, 0, 0, utc),
			[]string{"2026-01-01T15:00:00Z"}},
		{"leap day", "0 0 29 2 *", time.Date(2026, 1, 1, 0, 0, 0, 0, utc),
			[]string{"2028-02-29T00:00:00Z"}},
		// America/New_York springs forward at 2026-03-08 02:00 EST → 03:00 EDT.
		{"spring forward: skipped time runs at the change", "30 2 * * *", time.Date(2026, 3, 7, 12, 0, 0, 0, ny),
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"spring forward: time after the gap unchanged", "30 3 * * *", time.Date(2026, 3, 7, 12, 0, 0, 0, ny),
			[]string{"2026-03-08T03:30:00-04:00", "2026-03-09T03:30:00-04:00"}},
		{"spring forward: hourly by elapsed time", "0 * * * *", time.Date(2026, 3, 8, 0, 30, 0, 0, ny),
			[]string{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"}},
		// It falls back at 2026-11-01 02:00 EDT → 01:00 EST: 01:xx happens twice.
		{"fall back: repeated time runs once", "30 1 * * *", time.Date(2026, 11, 1, 0, 0, 0, 0, ny),
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"fall back: every minute runs through both passes", "0 * * * *", time.Date(2026, 11, 1, 0, 30, 0, 0, ny),
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"}},
		{"CRON_TZ with DST seen from UTC", "CRON_TZ=America/New_York 30 2 * * *", time.Date(2026, 3, 8, 0, 0, 0, 0, utc),
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := ParseSchedule(c.expr)
			if err != nil {
				t.Fatal(err)
			}
			at := c.from
			for i, want := range c.want {
				at = s.Next(at)
				if got := at.Format(time.RFC3339); got != want {
					t.Fatalf("activation %d of %q from %s: got %s, want %s", i+1, c.expr, c.from, got, want)
				}
			}
		})
	}
}

func TestScheduleInvalid(t *testing.T) {
	cases := map[string]string{
		"61 * * * *":                     "above maximum (59)",
		"*/0 * * * *":                    "positive number",
		"@weekly2":                       "unrecognized descriptor",
		"CRON_TZ=Mars/Olympus 0 * * * *": `unknown time zone "Mars/Olympus"`,
		"":                               "empty",
		"* * *":                          "expected 5 to 6 fields",
		"* * * * * * *":                  "expected 5 to 6 fields",
		"0 0 30 2 *":                     "matches no date",
		"@every 500ms":                   "at least 1s",
		"@every 1.5s":                    "whole seconds",
		"@every":                         "unrecognized descriptor",
		"@every soon":                    "invalid duration",
		"CRON_TZ=UTC":                    "not followed by an expression",
		"TZ=":                            "not followed by an expression",
		"CRON_TZ=Local 0 * * * *":        "IANA zone",
		"0 25 * * *":                     "above maximum (23)",
		"0 0 0 * *":                      "below minimum (1)",
		"0 0 * 13 *":                     "above maximum (12)",
		"0 0 * * 8":                      "above maximum (6)",
		"5-1 * * * *":                    "beyond end of range",
		"x * * * *":                      "failed to parse int",
	}
	for expr, want := range cases {
		_, err := ParseSchedule(expr)
		var ve *berth.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, berth.ErrInvalid) {
			t.Errorf("%q: got %v, want a *berth.ValidationError", expr, err)
			continue
		}
		if ve.Path != "schedule" || !strings.Contains(ve.Msg, want) || !strings.Contains(ve.Msg, "accepted: ") || !strings.Contains(ve.Msg, "@every DURATION") {
			t.Errorf("%q: got path %q msg %q; want it to say %q and list the accepted forms", expr, ve.Path, ve.Msg, want)
		}
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, seed := range []string{"* * * * *", "*/5 * * * * *", "@every 1h", "CRON_TZ=Asia/Seoul 0 9 * * *",
		"TZ=", "0 0 30 2 *", "1-5/2,7 0-23/3 1,15 jan-dec mon-fri", "@weekly2", "61 * * * *"} {
		f.Add(seed)
	}
	from := time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ParseSchedule(expr)
		if err != nil {
			if !errors.Is(err, berth.ErrInvalid) {
				t.Fatalf("%q: error %v does not match berth.ErrInvalid", expr, err)
			}
			return
		}
		if n := s.Next(from); !n.After(from) {
			t.Fatalf("%q: next activation %s is not after %s", expr, n, from)
		}
	})
}
