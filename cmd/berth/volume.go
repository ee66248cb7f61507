package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/volume"
)

func init() {
	register(command{path: "volume create", usage: "create a volume: [--driver D] [--opt K=V]... [--label K=V]... NAME", run: volumeCreate})
	register(command{path: "volume ls", usage: "list volumes: [--label K[=V]]...", run: volumeList})
	register(command{path: "volume rm", usage: "remove volumes: [-f] NAME...", run: volumeRemove})
	register(command{path: "volume backup", usage: "back up a volume or CONTAINER:PATH: SOURCE -o FILE [--stop|--pause] [--format tar.gz|tar.zst|tar]", run: volumeBackup})
	register(command{path: "volume restore", usage: "verify a backup, then restore it: FILE VOLUME|CONTAINER:PATH [--merge|--replace]", run: volumeRestore})
	register(command{path: "volume verify", usage: "check a backup archive without restoring it: FILE", run: volumeVerify})
	register(command{path: "container data", usage: "create a data-volume container: NAME PATH... [--image IMAGE]", run: containerData})
}

// keyValues is a repeatable K=V flag.
func volumeCreate(ctx context.Context, args []string) error {
	fs := newFlags("volume create", "[--driver D] [--opt K=V]... [--label K=V]... NAME")
	driver := fs.String("driver", "", "volume driver (default: local)")
	opts, labels := keyValues{}, keyValues{}
	fs.Var(opts, "opt", "driver option K=V (repeatable)")
	fs.Var(labels, "label", "label K=V (repeatable)")
	pos, err := parseAll(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1, 1); err != nil {
		return err
	}
	b := volume.New(pos[0])
	if *driver != "" {
		b.Driver(*driver)
	}
	for k, v := range opts {
		b.Option(k, v)
	}
	for k, v := range labels {
		b.Label(k, v)
	}
	if _, err := b.Compile(); err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	v, err := b.Create(ctx, cli)
	if err != nil {
		return err
	}
	fmt.Println(v.Name)
	return nil
}

func volumeList(ctx context.Context, args []string) error {
	fs := newFlags("volume ls", "[--label K[=V]]...")
	labels := keyValues{}
	fs.Var(labels, "label", "only volumes with this label (repeatable)")
	_, cli, err := connect(ctx, fs, args, 0, 0)
	if err != nil {
		return err
	}
	defer cli.Close()
	list, err := volume.List(ctx, cli, volume.ListOptions{Labels: labels})
	if err != nil {
		return err
	}
	fmt.Printf("%-10s %s\n", "DRIVER", "VOLUME NAME")
	for _, v := range list {
		fmt.Printf("%-10s %s\n", v.Driver, v.Name)
	}
	return nil
}

func volumeRemove(ctx context.Context, args []string) error {
	fs := newFlags("volume rm", "[-f] NAME...")
	force := fs.Bool("f", false, "force the removal")
	pos, cli, err := connect(ctx, fs, args, 1, -1)
	if err != nil {
		return err
	}
	defer cli.Close()
	var errs []error
	for _, name := range pos {
		if err := volume.Remove(ctx, cli, name, *force); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Println(name)
	}
	return errors.Join(errs...)
}

func volumeBackup(ctx context.Context, args []string) error {
	fs := newFlags("volume backup", "SOURCE -o FILE [--stop|--pause] [--format tar.gz|tar.zst|tar]\n\nSOURCE is a volume name or CONTAINER:PATH. FILE - writes to standard output.")
	out := fs.String("o", "", "archive file to write (- for standard output)")
	format := fs.String("format", "", "tar.gz (default), tar.zst or tar")
	level := fs.Int("level", 0, "compression level (gzip 1-9, zstd 1-4; default: fastest)")
	stop := fs.Bool("stop", false, "stop the containers using the volume during the backup, then start them again")
	pause := fs.Bool("pause", false, "pause the containers using the volume during the backup, then unpause them")
	pos, err := parseAll(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1, 1); err != nil {
		return err
	}
	opts, err := backupOptions(*out, *format, *level, *stop, *pause)
	if err != nil {
		return err
	}
	src, err := volume.ParseSource(pos[0])
	if err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	var res volume.BackupResult
	if *out == "-" {
		res, err = volume.Backup(ctx, cli, src, os.Stdout, opts)
	} else { // a failed backup leaves no partial archive under the name
		res, err = volume.BackupFile(ctx, cli, src, *out, opts)
	}
	if len(res.Stopped)+len(res.Paused)+len(res.Scaled) > 0 {
		fmt.Fprintf(os.Stderr, "during the backup: stopped %v, paused %v, services scaled to 0 %v; all started again\n", res.Stopped, res.Paused, res.Scaled)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(os.Stderr, "skipped %s (device node or socket)\n", s)
	}
	for _, s := range res.Changed {
		fmt.Fprintf(os.Stderr, "changed while read: %s (its backup is padded with zeros; use --stop or --pause)\n", s)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "backed up %s to %s: %v\n", src, *out, res.Summary)
	return nil
}

func backupOptions(out, format string, level int, stop, pause bool) (volume.BackupOptions, error) {
	var p berth.Problems
	if out == "" {
		p.Add("o", "missing; want the archive file to write, or - for standard output")
	}
	if stop && pause {
		p.Add("stop", "--stop and --pause together; choose one")
	}
	f, err := volume.ParseFormat(format)
	p.AddErr("format", err)
	if format == "" && out != "" {
		f = formatOfName(out)
	}
	opts := volume.BackupOptions{Format: f, Level: level}
	switch {
	case stop:
		opts.Quiesce = volume.QuiesceStop
	case pause:
		opts.Quiesce = volume.QuiescePause
	}
	return opts, p.Err()
}

// formatOfName guesses the format from the file name; tar.gz when it says nothing.
func formatOfName(name string) volume.Format {
	switch {
	case strings.HasSuffix(name, ".zst"), strings.HasSuffix(name, ".tzst"):
		return volume.FormatTarZstd
	case strings.HasSuffix(name, ".tar"):
		return volume.FormatTar
	}
	return volume.FormatTarGzip
}

func openInput(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(os.Stdin), nil
	}
	return os.Open(name)
}

func volumeRestore(ctx context.Context, args []string) error {
	fs := newFlags("volume restore", "FILE TARGET [--merge|--replace]\n\nThe whole archive is verified before anything is written. TARGET is a volume, created unless --merge or --replace is given, or CONTAINER:PATH for the volume a container (a data-volume container) mounts there. FILE - reads standard input.")
	merge := fs.Bool("merge", false, "write into an existing volume, keeping files the archive does not have")
	replace := fs.Bool("replace", false, "empty the existing volume first (no container may use it)")
	absolute := fs.Bool("allow-absolute-symlinks", false, "accept symlinks to absolute paths")
	pos, err := parseAll(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 2, 2); err != nil {
		return err
	}
	opts := volume.RestoreOptions{Verify: volume.VerifyOptions{AllowAbsoluteSymlinks: *absolute}}
	switch {
	case *merge && *replace:
		return berth.Invalid("merge", "--merge and --replace together; choose one")
	case *merge:
		opts.Mode = volume.RestoreMerge
	case *replace:
		opts.Mode = volume.RestoreReplace
	}
	in, err := openInput(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	target := pos[1]
	if ctr, dir, ok := strings.Cut(target, ":"); ok {
		if target, err = volume.ContainerVolume(ctx, cli, ctr, dir); err != nil {
			return err
		}
	}
	res, err := volume.Restore(ctx, cli, in, target, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "restored %s into volume %s: %v\n", pos[0], target, res.Summary)
	return nil
}

func volumeVerify(ctx context.Context, args []string) error {
	fs := newFlags("volume verify", "FILE")
	absolute := fs.Bool("allow-absolute-symlinks", false, "accept symlinks to absolute paths")
	pos, err := parseAll(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1, 1); err != nil {
		return err
	}
	in, err := openInput(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	sum, err := volume.Verify(in, volume.VerifyOptions{AllowAbsoluteSymlinks: *absolute})
	if err != nil {
		return err
	}
	fmt.Printf("%s: OK, %v (source %s, taken %s)\n", pos[0], sum, sum.Source, sum.Created)
	return nil
}

func containerData(ctx context.Context, args []string) error {
	fs := newFlags("container data", "NAME PATH... [--image IMAGE]\n\nCreates (never starts) a container holding one anonymous volume per PATH; mount them elsewhere with --volumes-from NAME.")
	image := fs.String("image", "", "image to create the container from (default: berth's tiny helper image)")
	pos, cli, err := connect(ctx, fs, args, 2, -1)
	if err != nil {
		return err
	}
	defer cli.Close()
	id, err := volume.CreateDataContainer(ctx, cli, pos[0], volume.DataContainerOptions{Paths: pos[1:], Image: *image})
	if err != nil {
		return err
	}
	fmt.Println(id)
	return nil
}
