package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	units "github.com/docker/go-units"
	volumetypes "github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/volume"
)

// The volume group: the Docker CLI's `volume create|inspect|ls|prune|rm` plus backup, restore
// and verify; and `container data` (a data-volume container).

func init() {
	addGroup(newVolumeCommand)
	addGroup(func() *cobra.Command {
		return newGroup("container", "Manage containers", newContainerData())
	})
}

func newVolumeCommand() *cobra.Command {
	return newGroup("volume", "Manage volumes",
		newVolumeCreate(), newVolumeInspect(), newVolumeLs(), newVolumePrune(), newVolumeRm(),
		newVolumeBackup(), newVolumeRestore(), newVolumeVerify())
}

func newVolumeCreate() *cobra.Command {
	var driver, name string
	opts, labels := keyValues{}, keyValues{}
	cmd := newVerb("create [OPTIONS] [VOLUME]", "Create a volume", rangeArgs(0, 1), func(cmd *cobra.Command, args []string) error {
		if len(args) == 1 {
			if name != "" && name != args[0] {
				return usageFail(cmd, 1, fmt.Sprintf("conflicting options: cannot specify a volume-name through both --name and as a positional arg"))
			}
			name = args[0]
		}
		if name == "" {
			return berth.Invalid("volume create/name", "give the volume a name (berth does not make one up)")
		}
		b := volume.New(name)
		if driver != "" {
			b.Driver(driver)
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
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		v, err := b.Create(cmd.Context(), cli)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout(), v.Name)
		return nil
	})
	f := cmd.Flags()
	f.StringVarP(&driver, "driver", "d", "local", "Specify volume driver name")
	f.VarP(opts, "opt", "o", "Set driver specific options")
	f.Var(labels, "label", "Set metadata for a volume")
	f.StringVar(&name, "name", "", "Specify volume name")
	f.Lookup("name").Hidden = true
	return cmd
}

type volumeRow struct {
	Availability, Group, Status string // of cluster volumes; N/A here
	Driver                      string
	Name                        string `header:"VOLUME NAME"`
	Scope                       string
	Mountpoint                  string
	Labels                      string
	Links                       string
	Size                        string
}

func newVolumeLs() *cobra.Command {
	var o listOptions
	cmd := engineVerb("ls [OPTIONS]", "List volumes", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		f, err := o.filterArgs("dangling", "driver", "label", "name")
		if err != nil {
			return err
		}
		list, err := volume.Find(cmd.Context(), cli, f)
		if err != nil {
			return err
		}
		var rows []volumeRow
		for _, v := range list {
			r := volumeRow{Driver: v.Driver, Name: v.Name, Scope: v.Scope, Mountpoint: v.Mountpoint, Labels: nodeLabels(v.Labels), Links: "N/A", Size: "N/A",
				Availability: "N/A", Group: "N/A", Status: "N/A"}
			if v.UsageData != nil && v.UsageData.Size >= 0 {
				r.Size = units.HumanSize(float64(v.UsageData.Size))
			}
			rows = append(rows, r)
		}
		return printRows(stdout(), o, "{{.Driver}}\t{{.Name}}", rows, func(r volumeRow) string { return r.Name })
	})
	addListFlags(cmd, &o, "volume names", "dangling, driver, label, name", false)
	cmd.Aliases = []string{"list"}
	return cmd
}

func newVolumeInspect() *cobra.Command {
	cmd := inspectVerb("inspect [OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes",
		func(ctx context.Context, cli *client.Client, name string) (volumetypes.Volume, error) {
			return volume.Inspect(ctx, cli, name)
		}, nil)
	cmd.ValidArgsFunction = completeNames(volumeNames)
	return cmd
}

func newVolumeRm() *cobra.Command {
	var force bool
	cmd := removeVerb("rm [OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", func(ctx context.Context, cli *client.Client, name string) error {
		return volume.Remove(ctx, cli, name, volume.RemoveOptions{Force: force})
	})
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of one or more volumes")
	cmd.ValidArgsFunction = completeNames(volumeNames)
	return cmd
}

func newVolumePrune() *cobra.Command {
	var all, force bool
	var filters stringList
	cmd := newVerb("prune [OPTIONS]", "Remove unused local volumes", noArgs, func(cmd *cobra.Command, _ []string) error {
		f, err := listOptions{filters: filters}.filterArgs("label", "label!", "all")
		if err != nil {
			return err
		}
		if !force {
			what := "all anonymous local volumes not used by at least one container"
			if all {
				what = "all local volumes not used by at least one container"
			}
			if !confirm(fmt.Sprintf("WARNING! This will remove %s.\nAre you sure you want to continue?", what)) {
				return errors.New("volume prune has been cancelled")
			}
		}
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		rep, err := volume.Prune(cmd.Context(), cli, volume.PruneOptions{All: all, Filters: f})
		if err != nil {
			return err
		}
		if len(rep.VolumesDeleted) > 0 {
			fmt.Fprintln(stdout(), "Deleted Volumes:")
			for _, v := range rep.VolumesDeleted {
				fmt.Fprintln(stdout(), v)
			}
			fmt.Fprintln(stdout())
		}
		fmt.Fprintf(stdout(), "Total reclaimed space: %s\n", units.HumanSize(float64(rep.SpaceReclaimed)))
		return nil
	})
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	cmd.Flags().VarP(&filters, "filter", "", `Provide filter values (e.g. "label=<label>")`)
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

// confirm asks a yes/no question on stderr and reads the answer from stdin (no is default).
func confirm(question string) bool {
	fmt.Fprintf(os.Stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

func newVolumeBackup() *cobra.Command {
	var out, format string
	var level int
	var stop, pause bool
	cmd := newVerb("backup [OPTIONS] SOURCE", "Back up a volume or CONTAINER:PATH to a tar archive (-o - writes to standard output)", exactArgs(1), func(cmd *cobra.Command, args []string) error {
		opts, err := backupOptions(out, format, level, stop, pause)
		if err != nil {
			return err
		}
		src, err := volume.ParseSource(args[0])
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		var res volume.BackupResult
		if out == "-" {
			res, err = volume.Backup(ctx, cli, src, stdout(), opts)
		} else { // a failed backup leaves no partial archive under the name
			res, err = volume.BackupFile(ctx, cli, src, out, opts)
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
		fmt.Fprintf(os.Stderr, "backed up %s to %s: %v\n", src, out, res.Summary)
		return nil
	})
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "Archive file to write (- for standard output)")
	f.StringVar(&format, "format", "", "tar.gz (default), tar.zst or tar")
	f.IntVar(&level, "level", 0, "Compression level (gzip 1-9, zstd 1-4; default: fastest)")
	f.BoolVar(&stop, "stop", false, "Stop the containers using the volume during the backup, then start them again")
	f.BoolVar(&pause, "pause", false, "Pause the containers using the volume during the backup, then unpause them")
	cmd.ValidArgsFunction = completeNames(volumeNames)
	return cmd
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

func newVolumeRestore() *cobra.Command {
	var merge, replace bool
	var v archiveFlags
	cmd := newVerb("restore [OPTIONS] FILE VOLUME|CONTAINER:PATH", "Verify a backup, then restore it (FILE - reads standard input)", exactArgs(2), func(cmd *cobra.Command, args []string) error {
		opts := volume.RestoreOptions{Verify: v.options()}
		switch {
		case merge && replace:
			return berth.Invalid("merge", "--merge and --replace together; choose one")
		case merge:
			opts.Mode = volume.RestoreMerge
		case replace:
			opts.Mode = volume.RestoreReplace
		}
		in, err := openInput(args[0])
		if err != nil {
			return err
		}
		defer in.Close()
		ctx := cmd.Context()
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		target := args[1]
		if ctr, dir, ok := strings.Cut(target, ":"); ok {
			if target, err = volume.ContainerVolume(ctx, cli, ctr, dir); err != nil {
				return err
			}
		}
		res, err := volume.Restore(ctx, cli, in, target, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "restored %s into volume %s: %v\n", args[0], target, res.Summary)
		return nil
	})
	cmd.Long = "Verify a backup, then restore it. The whole archive is verified before anything is written.\nTARGET is a volume, created unless --merge or --replace is given, or CONTAINER:PATH for the volume\na container (a data-volume container) mounts there. FILE - reads standard input."
	f := cmd.Flags()
	f.BoolVar(&merge, "merge", false, "Write into an existing volume, keeping files the archive does not have")
	f.BoolVar(&replace, "replace", false, "Empty the existing volume first (no container may use it)")
	v.add(cmd)
	return cmd
}

func newVolumeVerify() *cobra.Command {
	var v archiveFlags
	cmd := newVerb("verify [OPTIONS] FILE", "Check a backup archive without restoring it", exactArgs(1), func(cmd *cobra.Command, args []string) error {
		in, err := openInput(args[0])
		if err != nil {
			return err
		}
		defer in.Close()
		sum, err := volume.Verify(in, v.options())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout(), "%s: OK, %v (source %s, taken %s)\n", args[0], sum, sum.Source, sum.Created)
		return nil
	})
	v.add(cmd)
	return cmd
}

// archiveFlags are how verify and restore read an archive: a berth backup, or a plain tar
// (.gz) made by `tar czf` (no manifest, so no checksums to verify).
type archiveFlags struct {
	absolute bool
	plain    bool
	strip    int
}

func (a *archiveFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&a.absolute, "allow-absolute-symlinks", false, "Accept symlinks to absolute paths")
	f.BoolVar(&a.plain, "plain", false, "Read a plain tar or tar.gz archive without berth's manifest (it has no checksums to verify)")
	f.IntVar(&a.strip, "strip-components", 0, "Strip NUMBER leading components from file names of a plain archive (GNU tar's option; implies --plain)")
}

func (a *archiveFlags) options() volume.VerifyOptions {
	return volume.VerifyOptions{AllowAbsoluteSymlinks: a.absolute, Plain: a.plain, StripComponents: a.strip}
}

func newContainerData() *cobra.Command {
	var image string
	cmd := engineVerb("data [OPTIONS] NAME PATH [PATH...]", "Create a data-volume container", minArgs(2), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		id, err := volume.CreateDataContainer(cmd.Context(), cli, args[0], volume.DataContainerOptions{Paths: args[1:], Image: image})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout(), id)
		return nil
	})
	cmd.Long = "Create (never start) a container holding one anonymous volume per PATH; mount them elsewhere with --volumes-from NAME."
	cmd.Flags().StringVar(&image, "image", "", "Image to create the container from (default: berth's tiny helper image)")
	return cmd
}
