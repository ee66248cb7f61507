package container

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/berthdev/berth"
	"github.com/moby/moby/api/types/mount"
)

// The chapter's `docker run -d --name mysql -e MYSQL_ALLOW_EMPTY_PASSWORD=yes --volumes-from
// mysql-data --platform linux/amd64 -p 3306:3306 mariadb` through RunFlags.
func TestRunFlags(t *testing.T) {
	t.Setenv("FROM_HOST", "h")
	grace := 3 * time.Second
	empty := ""
	f := RunFlags{Name: "mysql", Detach: true, Env: []string{"MYSQL_ALLOW_EMPTY_PASSWORD=yes", "FROM_HOST", "NOT_SET_ANYWHERE"},
		Labels: []string{"app=ch03", "bare"}, Publish: []string{"3306:3306"}, VolumesFrom: []string{"mysql-data", "logs:ro"},
		Volumes: []string{"dbconf:/etc/mysql/conf.d:ro", "/srv/backup:/backup", "/scratch"}, Tmpfs: []string{"/run"},
		Network: "ch03", Aliases: []string{"db"}, Platform: "linux/amd64", Restart: "always", User: "mysql", Workdir: "/var/lib/mysql",
		Entrypoint: &empty, Init: true, Memory: 512 << 20, CPUs: "1.5", HealthCmd: "mariadb-admin ping", StopTimeout: &grace}
	s, err := f.Container("mariadb", "mariadbd", "--verbose").Compile()
	if err != nil {
		t.Fatal(err)
	}
	if f.RunOptions().Wait != WaitNone || (RunFlags{}).RunOptions().Wait != WaitExit {
		t.Error("Detach does not decide the wait")
	}
	if !slices.Equal(s.Config.Env, []string{"MYSQL_ALLOW_EMPTY_PASSWORD=yes", "FROM_HOST=h", "NOT_SET_ANYWHERE"}) {
		t.Errorf("env %q", s.Config.Env)
	}
	if !slices.Equal(s.HostConfig.VolumesFrom, []string{"mysql-data:rw", "logs:ro"}) || s.Config.Labels["bare"] != "" || s.Config.Labels["app"] != "ch03" {
		t.Errorf("volumes-from %q labels %v", s.HostConfig.VolumesFrom, s.Config.Labels)
	}
	want := []mount.Mount{
		{Type: mount.TypeVolume, Source: "dbconf", Target: "/etc/mysql/conf.d", ReadOnly: true},
		{Type: mount.TypeBind, Source: "/srv/backup", Target: "/backup"},
		{Type: mount.TypeVolume, Target: "/scratch"},
		{Type: mount.TypeTmpfs, Target: "/run"},
	}
	if !slices.EqualFunc(s.HostConfig.Mounts, want, func(a, b mount.Mount) bool {
		return a.Type == b.Type && a.Source == b.Source && a.Target == b.Target && a.ReadOnly == b.ReadOnly
	}) {
		t.Errorf("mounts %+v", s.HostConfig.Mounts)
	}
	if !slices.Equal(s.Config.Entrypoint, []string{""}) || !slices.Equal(s.Config.Cmd, []string{"mariadbd", "--verbose"}) ||
		!slices.Equal(s.Config.Healthcheck.Test, []string{"CMD-SHELL", "mariadb-admin ping"}) || *s.Config.StopTimeout != 3 ||
		s.HostConfig.NanoCPUs != 15e8 || s.Networking.EndpointsConfig["ch03"].Aliases[0] != "db" {
		t.Errorf("spec %+v", s)
	}

	bad := RunFlags{AutoRemove: true, Restart: "always", Volumes: []string{"a:b:c:d", "data:/x:rx"}, VolumesFrom: []string{"x:rwx"},
		NoHealth: true, HealthCmd: "true", Publish: []string{"nope"}}
	_, err = bad.Container("busybox").Compile()
	var paths []string
	for _, ve := range berth.ValidationErrors(err) {
		paths = append(paths, ve.Path)
	}
	if !errors.Is(err, berth.ErrInvalid) || !slices.Equal(paths, []string{"no-healthcheck", "publish[0]", "restart", "volume", "volume", "volumes-from"}) {
		t.Errorf("problems %q: %v", paths, err)
	}
}
