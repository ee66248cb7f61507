package volume_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/volume"
)

func ExampleNew() {
	spec, err := volume.New("pgdata").Driver("local").Option("type", "tmpfs").Option("device", "tmpfs").Label("app", "db").Compile()
	fmt.Println(spec.Name, spec.Driver, spec.DriverOpts["type"], spec.Labels["app"], err)

	_, err = volume.New("bad name").Driver("").Compile()
	fmt.Println(err)
	// Output:
	// pgdata local tmpfs db <nil>
	// volume/driver: empty; want a driver name such as "local"
	// volume/name: "bad name" is not a volume name; want [a-zA-Z0-9][a-zA-Z0-9_.-]+ (two characters or more)
}

func ExampleNamed() {
	m := volume.Named("pgdata", "/var/lib/postgresql/data", volume.ReadOnly())
	fmt.Println(m.Type, m.Source, m.Target, m.ReadOnly)
	b := volume.Bind("/srv/config", "/etc/app")
	fmt.Println(b.Type, b.Source, b.Target, volume.CheckMount("mounts[0]", b))
	// Output:
	// volume pgdata /var/lib/postgresql/data true
	// bind /srv/config /etc/app <nil>
}

func ExampleParseSource() {
	for _, s := range []string{"pgdata", "dbdata:/var/lib/db"} {
		src, err := volume.ParseSource(s)
		fmt.Printf("volume=%q container=%q path=%q %v\n", src.Volume, src.Container, src.Path, err)
	}
	// Output:
	// volume="pgdata" container="" path="" <nil>
	// volume="" container="dbdata" path="/var/lib/db" <nil>
}

// Back up a volume to a file, verify the file, and restore it into a new volume.
func ExampleBackup() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()
	f, err := os.Create("pgdata.tar.gz")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	res, err := volume.Backup(ctx, cli, volume.VolumeSource("pgdata"), f, volume.BackupOptions{Quiesce: volume.QuiesceStop})
	fmt.Println(res.Summary, res.Stopped, err)
	f.Seek(0, 0)
	if _, err := volume.Verify(f, volume.VerifyOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	f.Seek(0, 0)
	_, err = volume.Restore(ctx, cli, f, "pgdata-restored", volume.RestoreOptions{})
	fmt.Println(err)
}

// The chapter's own backup, `tar cvzf /tmp/mysql-backup.tar.gz /var/lib/mysql` in busybox, has
// no manifest and its members start with var/lib/mysql/: strip those three elements, as GNU
// tar's --strip-components 3 does, to restore the data directory at the volume's root.
func ExampleRestore_plainArchive() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open("mysql-backup.tar.gz")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	res, err := volume.Restore(ctx, cli, f, "mysql-restored", volume.RestoreOptions{Verify: volume.VerifyOptions{StripComponents: 3}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Summary) // "...; plain archive without a manifest: no checksums to verify, ..."
}
