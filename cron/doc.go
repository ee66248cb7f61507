// Package cron runs scheduled jobs against a Docker engine: one-off containers, commands exec'd
// in running containers, and swarm services run again on schedule. It replaces the cron daemons
// that operators bake into images and the ofelia or swarm-cronjob containers they run beside
// their stacks.
//
// A Scheduler (New) holds jobs (Add, Remove, Jobs) and runs them (Run) until its context ends.
// Each Job has a cron Schedule (ParseSchedule: five fields, an optional seconds field,
// descriptors such as @hourly and "@every 30s", and CRON_TZ per job, parsed with
// robfig/cron v3), a Task (*ContainerTask, *ExecTask, *ServiceTask or a TaskFunc), an Overlap
// policy (Skip, Allow, Replace) and a Timeout. Every run is recorded as a Result (status, exit
// code, duration, the tail of its stdout and stderr) in the job's History, and reported as an
// Event through the Events iterator. A task that fails, hangs or panics never stops the
// scheduler or the other jobs; on shutdown, runs in progress are cancelled (or awaited, with
// WithShutdownGrace) and their containers removed.
//
// Jobs can also come from labels (WithLabels): berth.cron.* on containers and services, and
// crazy-max/swarm-cronjob's swarm.cronjob.* on services; and from a jobs file (ParseFile).
//
// Container builds and runs the classic one-container pattern instead: an image whose only
// process is busybox crond in the foreground with a crontab and task scripts, their output
// collected in a log file that Daemon.Log reads from outside.
//
// The scheduler reads time from a Clock (WithClock), so that schedules, time zones and
// daylight-saving changes can be tested against a fake clock without waiting.
package cron
