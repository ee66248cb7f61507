package volume_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/berthdev/berth/container"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/volume"
	"github.com/moby/moby/client"
)

// populate writes a small database-like tree: random content, a subdirectory, an empty
// directory, a hardlink, a symlink, the owner and modes MariaDB gives its files.
const populate = `set -e
cd /var/lib/mysql
mkdir -p ch03 empty
head -c 300000 /dev/urandom > ibdata1
printf 'frm' > ch03/user.frm
ln ch03/user.frm ch03/user.bak
ln -s user.frm ch03/latest
chown -R 999:999 /var/lib/mysql
chmod 0700 ch03
chmod 0640 ibdata1`

// listing describes every file under the directory: name, type, size, mode, owner, link count,
// symlink target and content digest: equal listings mean equal trees, byte for byte.
const listing = `cd "$1" && find . | sort | while read -r f; do
	stat -c '%n|%F|%s|%a|%u:%g|%h' "$f"
	if [ -L "$f" ]; then echo "  -> $(readlink "$f")"; elif [ -f "$f" ]; then sha256sum "$f"; fi
done`

// The chapter's backup recipe, `tar cvzf /tmp/mysql-backup.tar.gz /var/lib/mysql` in a busybox
// container with --volumes-from the data-volume container, makes a plain archive (members
// var/lib/mysql/...) that Restore with StripComponents 3 writes into a new volume byte for
// byte, owners and modes included.
func TestRestoreBusyboxTarRecipe(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 2*time.Minute)
	busybox := testenv.Image(t, cli, fixtures.Busybox)
	data, restored := testenv.Name(t, "mysql-data"), testenv.Name(t, "restored")
	t.Cleanup(func() {
		container.Remove(context.Background(), cli, data, container.RemoveOptions{Force: true, Volumes: true})
		cli.VolumeRemove(context.Background(), restored, client.VolumeRemoveOptions{Force: true})
	})
	if _, err := volume.CreateDataContainer(ctx, cli, data, volume.DataContainerOptions{Image: busybox, Paths: []string{"/var/lib/mysql"}}); err != nil {
		t.Fatal(err)
	}
	run := func(c *container.Container) string {
		t.Helper()
		name := testenv.Name(t, "step")
		t.Cleanup(func() { container.Remove(context.Background(), cli, name, container.RemoveOptions{Force: true}) })
		res, err := container.Run(ctx, cli, c.Name(name), container.RunOptions{Wait: container.WaitExit})
		if err == nil && res.ExitCode != 0 {
			t.Fatalf("%s exited %d", name, res.ExitCode)
		}
		if err != nil {
			t.Fatal(err)
		}
		return res.ID
	}
	run(container.New(busybox).VolumesFrom(data, false).Command("sh", "-c", populate))
	tarred := run(container.New(busybox).VolumesFrom(data, false).Command("tar", "cvzf", "/tmp/mysql-backup.tar.gz", "/var/lib/mysql"))
	archive, err := container.ReadFile(ctx, cli, tarred, "/tmp/mysql-backup.tar.gz")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := volume.Verify(bytes.NewReader(archive), volume.VerifyOptions{}); err == nil {
		t.Fatal("a plain archive verified as a berth backup")
	}
	res, err := volume.Restore(ctx, cli, bytes.NewReader(archive), restored, volume.RestoreOptions{Verify: volume.VerifyOptions{StripComponents: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || !res.Plain || res.Files != 2 || res.Hardlinks != 1 || res.Symlinks != 1 {
		t.Errorf("restore result %+v", res)
	}
	t.Log(res.Summary)

	exec := container.New(busybox).VolumesFrom(data, true).Volume(restored, "/restored", true).Command("sleep", "300")
	name := testenv.Name(t, "compare")
	t.Cleanup(func() { container.Remove(context.Background(), cli, name, container.RemoveOptions{Force: true}) })
	cmp, err := container.Run(ctx, cli, exec.Name(name), container.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	list := func(dir string) string {
		t.Helper()
		out, err := container.Exec(ctx, cli, cmp.ID, []string{"sh", "-c", listing, "sh", dir}, container.ExecOptions{})
		if err == nil {
			err = out.Err()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out.Stdout)
	}
	orig, back := list("/var/lib/mysql"), list("/restored")
	if orig != back {
		t.Errorf("the restored volume differs\noriginal:\n%s\nrestored:\n%s", orig, back)
	}
	if !bytes.Contains([]byte(orig), []byte(".|directory|")) || !bytes.Contains([]byte(orig), []byte("|999:999|")) {
		t.Errorf("listing misses the root or the owner:\n%s", orig)
	}
	t.Log("\n" + orig)
}
