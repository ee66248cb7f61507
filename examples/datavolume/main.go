// Command datavolume is the classic data-volume container workflow, through the Engine API: a
// data-volume container holds a database's files; a stateful program (a counter that appends
// to a history file, in the busybox fixture image) uses it with --volumes-from, is removed and
// recreated with its data intact; a backup is taken while it is stopped for the read; the
// volume is destroyed; the backup is verified and restored into a new volume; the program runs
// on the restored volume and finds every record. Everything it creates is removed at the end.
//
//	go run ./examples/datavolume
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/container"
	"github.com/berthdev/berth/image"
	"github.com/berthdev/berth/volume"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "datavolume:", err)
		os.Exit(1)
	}
}

// dbScript is the "database": it counts its runs in /var/lib/db, keeps a history, and then
// serves (sleeps) until stopped.
const dbScript = `set -e
cd /var/lib/db
n=$(cat counter 2>/dev/null || echo 0)
n=$((n+1))
echo $n > counter
echo "run $n" >> history
mkdir -p tables && echo "row-$n" > tables/t$n
echo "db: run $n, history: $(wc -l < history) lines"
trap 'exit 0' TERM
while true; do sleep 1; done`

// demo holds what the workflow creates, for cleanup.
type demo struct {
	cli        *client.Client
	image      string
	containers []string
	volumes    []string
}

func run(ctx context.Context) error {
	cli, err := berth.Connect(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	img, err := image.FirstPresent(ctx, cli, "berth-fixtures/busybox:local", "busybox:latest")
	if err != nil {
		return err
	}
	d := &demo{cli: cli, image: img}
	defer d.cleanup()
	suffix := randomHex()
	dataName, restored := "berth-demo-dbdata-"+suffix, "berth-demo-db-restored-"+suffix

	fmt.Println("1. data-volume container", dataName, "holding /var/lib/db")
	id, err := volume.CreateDataContainer(ctx, cli, dataName, volume.DataContainerOptions{Paths: []string{"/var/lib/db"}})
	if err != nil {
		return err
	}
	d.containers = append(d.containers, id)
	withData := func(c *container.Container) *container.Container { return c.VolumesFrom(dataName, false) }

	fmt.Println("2. the database runs, is removed, and is recreated: its data is still there")
	for range 2 {
		db, err := d.startDB(ctx, withData)
		if err != nil {
			return err
		}
		if err := d.remove(ctx, db); err != nil {
			return err
		}
	}
	db, err := d.startDB(ctx, withData)
	if err != nil {
		return err
	}

	fmt.Println("3. backup of", dataName+":/var/lib/db", "with the database stopped during the read")
	dir, err := os.MkdirTemp("", "berth-datavolume-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "db.tar.gz")
	if err := backup(ctx, cli, volume.ContainerSource(dataName, "/var/lib/db"), file); err != nil {
		return err
	}

	fmt.Println("4. the database and its volume are destroyed")
	if err := d.remove(ctx, db); err != nil {
		return err
	}
	if err := container.Remove(ctx, cli, dataName, container.RemoveOptions{Volumes: true}); err != nil {
		return fmt.Errorf("remove the data-volume container and its volume: %w", err)
	}
	d.containers = d.containers[1:]

	fmt.Println("5. the backup is verified and restored into the new volume", restored)
	if err := restore(ctx, cli, file, restored); err != nil {
		return err
	}
	d.volumes = append(d.volumes, restored)

	fmt.Println("6. the database runs on the restored volume")
	db, err = d.startDB(ctx, func(c *container.Container) *container.Container { return c.Volume(restored, "/var/lib/db", false) })
	if err != nil {
		return err
	}
	out, err := d.exec(ctx, "cat /var/lib/db/history; ls /var/lib/db/tables | tr '\\n' ' '")
	if err != nil {
		return err
	}
	fmt.Println(strings.TrimSpace(out))
	if !strings.Contains(out, "run 1\nrun 2\nrun 3\nrun 4\n") || !strings.Contains(out, "t1 t2 t3 t4") {
		return fmt.Errorf("restored data incomplete:\n%s", out)
	}
	fmt.Println("data intact: every run before the backup is there")
	return d.remove(ctx, db)
}

func backup(ctx context.Context, cli *client.Client, src volume.Source, file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := volume.Backup(ctx, cli, src, f, volume.BackupOptions{Quiesce: volume.QuiesceStop})
	if err != nil {
		return err
	}
	fmt.Printf("   %v; stopped and restarted: %v\n", res.Summary, res.Stopped)
	return f.Close()
}

func restore(ctx context.Context, cli *client.Client, file, target string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sum, err := volume.Verify(f, volume.VerifyOptions{})
	if err != nil {
		return err
	}
	fmt.Printf("   verified: %v\n", sum)
	if _, err := f.Seek(0, 0); err != nil {
		return err
	}
	_, err = volume.Restore(ctx, cli, f, target, volume.RestoreOptions{})
	return err
}

// startDB starts the database with storage from with and waits for its first log line.
func (d *demo) startDB(ctx context.Context, with func(*container.Container) *container.Container) (string, error) {
	c := container.New(d.image).Name("berth-demo-db-"+randomHex()).Network("none").Command("sh", "-c", dbScript)
	res, err := container.Run(ctx, d.cli, with(c), container.RunOptions{})
	if err != nil {
		return "", fmt.Errorf("start the database: %w", err)
	}
	d.containers = append(d.containers, res.ID)
	for range 100 {
		for line, err := range container.Logs(ctx, d.cli, res.ID, container.LogsOptions{}) {
			if err != nil {
				return "", err
			}
			fmt.Println("  ", line.Text)
			return res.ID, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("the database wrote nothing in 10s")
}

// exec reads the running database's files (`docker exec DB sh -c SCRIPT`).
func (d *demo) exec(ctx context.Context, script string) (string, error) {
	db := d.containers[len(d.containers)-1]
	res, err := container.Exec(ctx, d.cli, db, []string{"sh", "-c", script}, container.ExecOptions{})
	if err == nil {
		err = res.Err()
	}
	return string(res.Stdout), err
}

func (d *demo) remove(ctx context.Context, id string) error {
	grace := 2 * time.Second
	if err := container.Stop(ctx, d.cli, id, container.StopOptions{Timeout: &grace}); err != nil {
		return err
	}
	if err := container.Remove(ctx, d.cli, id, container.RemoveOptions{}); err != nil {
		return err
	}
	for i, c := range d.containers {
		if c == id {
			d.containers = append(d.containers[:i], d.containers[i+1:]...)
			break
		}
	}
	return nil
}

// cleanup removes what is left, even after an error or an interrupt.
func (d *demo) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := len(d.containers) - 1; i >= 0; i-- {
		container.Remove(ctx, d.cli, d.containers[i], container.RemoveOptions{Force: true, Volumes: true})
	}
	for _, v := range d.volumes {
		volume.Remove(ctx, d.cli, v, volume.RemoveOptions{Force: true})
	}
}

func randomHex() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
