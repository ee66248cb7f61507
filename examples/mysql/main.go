// Command mysql replays the chapter's database in a data-volume container, through berth's
// container and volume packages: a data-volume container (busybox, VOLUME /var/lib/mysql);
// MariaDB with --volumes-from it; the chapter's `user` table and its three rows through exec;
// the database is stopped, removed and run again on the same data, and the rows are there; a
// backup of the data volume is taken with the database stopped for the read; everything is
// removed; the backup is restored into a new volume, MariaDB runs on it, and the rows are
// there again. It prints the table each time it reads it and removes all it created.
//
// It uses berth-fixtures/mariadb:local (`make fixtures` builds it from Debian's mariadb-server)
// or, where that is missing, a local copy of the public mariadb image; it never pulls.
//
//	go run ./examples/mysql
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/container"
	"github.com/berthdev/berth/volume"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mysql:", err)
		os.Exit(1)
	}
}

// Label marks everything the example creates, with the run's suffix as value.
const Label = "dev.berth.example.mysql"

// The chapter's table and rows.
const (
	createTable = "CREATE TABLE user (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL, created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP)"
	insertRows  = "INSERT INTO user (name) VALUES ('gngsn'), ('docker'), ('sunny')"
	selectRows  = "SELECT id, name FROM user ORDER BY id"
	wantRows    = "1\tgngsn\n2\tdocker\n3\tsunny\n"
)

// demo is one run: the engine, the images, and what it made, for the cleanup.
type demo struct {
	cli        *client.Client
	out        io.Writer
	suffix     string
	mariadb    string
	busybox    string
	containers []string
	volumes    []string
}

// Made says what a run created (all of it removed at the end), for tests.
type Made struct {
	Suffix     string
	DataVolume string // the data-volume container's anonymous volume
}

func run(ctx context.Context, out io.Writer) (Made, error) {
	cli, err := berth.Connect(ctx)
	if err != nil {
		return Made{}, err
	}
	defer cli.Close()
	d := &demo{cli: cli, out: out, suffix: randomHex()}
	made := Made{Suffix: d.suffix}
	if d.mariadb, err = localImage(ctx, cli, "berth-fixtures/mariadb:local", "mariadb:latest"); err != nil {
		return made, err
	}
	if d.busybox, err = localImage(ctx, cli, "berth-fixtures/busybox:local", "busybox:latest"); err != nil {
		return made, err
	}
	err = d.chapter(ctx, &made)
	return made, errors.Join(err, d.cleanup())
}

func (d *demo) chapter(ctx context.Context, made *Made) error {
	data, restored := "mysql-data-"+d.suffix, "mysql-restored-"+d.suffix
	d.say("1. data-volume container %s (busybox, VOLUME /var/lib/mysql), image %s", data, d.mariadb)
	if _, err := volume.CreateDataContainer(ctx, d.cli, data, volume.DataContainerOptions{
		Image: d.busybox, Paths: []string{"/var/lib/mysql"}, Labels: map[string]string{Label: d.suffix}}); err != nil {
		return err
	}
	d.containers = append(d.containers, data)
	var err error
	if made.DataVolume, err = volume.ContainerVolume(ctx, d.cli, data, "/var/lib/mysql"); err != nil {
		return err
	}
	onData := func(c *container.Container) *container.Container { return c.VolumesFrom(data, false) }

	d.say("2. MariaDB with --volumes-from %s; the chapter's table and rows through exec", data)
	db, err := d.startDB(ctx, "mysql", onData)
	if err != nil {
		return err
	}
	if _, err := d.sql(ctx, db, createTable+"; "+insertRows); err != nil {
		return err
	}
	if err := d.showRows(ctx, db); err != nil {
		return err
	}

	d.say("3. the database is stopped and removed; a new one runs on the same data")
	if err := d.removeDB(ctx, db); err != nil {
		return err
	}
	if db, err = d.startDB(ctx, "mysql2", onData); err != nil {
		return err
	}
	if err := d.showRows(ctx, db); err != nil {
		return err
	}

	d.say("4. backup of %s:/var/lib/mysql, the database stopped for the read", data)
	dir, err := os.MkdirTemp("", "berth-mysql-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "mysql-backup.tar.gz")
	if err := d.backup(ctx, volume.ContainerSource(data, "/var/lib/mysql"), file); err != nil {
		return err
	}

	d.say("5. everything is removed: the database, the data-volume container and its volume")
	if err := d.removeDB(ctx, db); err != nil {
		return err
	}
	if err := container.Remove(ctx, d.cli, data, container.RemoveOptions{Volumes: true}); err != nil {
		return err
	}
	d.containers = d.containers[:0]

	d.say("6. the backup is restored into the new volume %s; MariaDB runs on it", restored)
	if err := d.restore(ctx, file, restored); err != nil {
		return err
	}
	if db, err = d.startDB(ctx, "mysql3", func(c *container.Container) *container.Container {
		return c.Volume(restored, "/var/lib/mysql", false)
	}); err != nil {
		return err
	}
	if err := d.showRows(ctx, db); err != nil {
		return err
	}
	d.say("the rows survived a new container and a backup and restore")
	return d.removeDB(ctx, db)
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.out, format+"\n", args...) }

// startDB runs MariaDB as the chapter does (`docker run -d -e MYSQL_ALLOW_EMPTY_PASSWORD=yes
// -e MYSQL_DATABASE=ch03 --platform ...`), with storage from with, and waits until it answers.
func (d *demo) startDB(ctx context.Context, name string, with func(*container.Container) *container.Container) (string, error) {
	c := container.New(d.mariadb).Name(name+"-"+d.suffix).Label(Label, d.suffix).
		Env("MYSQL_ALLOW_EMPTY_PASSWORD", "yes").Env("MYSQL_DATABASE", "ch03").
		Platform("linux/" + runtime.GOARCH). // the chapter pins linux/amd64 for Apple silicon; the local image is the host's
		Healthcheck(ctypes.HealthConfig{Test: []string{"CMD", "mariadb-admin", "ping", "-h", "localhost"},
			Interval: 300 * time.Millisecond, Timeout: 5 * time.Second, Retries: 300})
	res, err := container.Run(ctx, d.cli, with(c), container.RunOptions{Wait: container.WaitHealthy})
	if res.ID != "" {
		d.containers = append(d.containers, res.ID)
	}
	if err != nil {
		return "", fmt.Errorf("start MariaDB: %w", err)
	}
	return res.ID, nil
}

func (d *demo) removeDB(ctx context.Context, id string) error {
	if err := container.Stop(ctx, d.cli, id, container.StopOptions{}); err != nil {
		return err
	}
	if err := container.Remove(ctx, d.cli, id, container.RemoveOptions{}); err != nil {
		return err
	}
	d.containers = without(d.containers, id)
	return nil
}

// sql runs statements in database ch03 with the client inside the container (the chapter's
// `mysql`, called `mariadb` here: MariaDB 11 images no longer have the old name); args are the
// client's further options.
func (d *demo) sql(ctx context.Context, db, statements string, args ...string) (string, error) {
	argv := append([]string{"mariadb", "-uroot", "ch03"}, args...)
	res, err := container.Exec(ctx, d.cli, db, append(argv, "-e", statements), container.ExecOptions{})
	if err == nil {
		err = res.Err()
	}
	return string(res.Stdout), err
}

// showRows prints `SELECT * FROM user` as the mysql client's table, and checks the rows.
func (d *demo) showRows(ctx context.Context, db string) error {
	table, err := d.sql(ctx, db, "SELECT * FROM user", "--table")
	if err != nil {
		return err
	}
	fmt.Fprint(d.out, table)
	rows, err := d.sql(ctx, db, selectRows, "--batch", "--skip-column-names")
	if err != nil {
		return err
	}
	if rows != wantRows {
		return fmt.Errorf("the user table holds %q, want %q", rows, wantRows)
	}
	return nil
}

func (d *demo) backup(ctx context.Context, src volume.Source, file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := volume.Backup(ctx, d.cli, src, f, volume.BackupOptions{Quiesce: volume.QuiesceStop})
	if err != nil {
		return err
	}
	d.say("   %v; stopped and started again: %d container(s)", res.Summary, len(res.Stopped))
	return f.Close()
}

func (d *demo) restore(ctx context.Context, file, target string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := volume.Restore(ctx, d.cli, f, target, volume.RestoreOptions{Create: volume.New(target).Label(Label, d.suffix)})
	if res.Created {
		d.volumes = append(d.volumes, target)
	}
	if err != nil {
		return err
	}
	d.say("   verified and restored: %v", res.Summary)
	return nil
}

// cleanup removes what the run made, also after a failure or an interrupt.
func (d *demo) cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	for _, id := range d.containers {
		if err := container.Remove(ctx, d.cli, id, container.RemoveOptions{Force: true, Volumes: true}); err != nil {
			errs = append(errs, err)
		}
	}
	for _, v := range d.volumes {
		if _, err := d.cli.VolumeRemove(ctx, v, client.VolumeRemoveOptions{Force: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v, err))
		}
	}
	return errors.Join(errs...)
}

// localImage returns the first of refs that the engine has; it never pulls.
func localImage(ctx context.Context, cli client.ImageAPIClient, refs ...string) (string, error) {
	for _, ref := range refs {
		if _, err := cli.ImageInspect(ctx, ref); err == nil {
			return ref, nil
		}
	}
	return "", fmt.Errorf("none of %s is on the engine (run `make fixtures`; berth never pulls them)", strings.Join(refs, ", "))
}

func without(list []string, s string) []string {
	out := list[:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

func randomHex() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
