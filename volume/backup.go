package volume

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/berthdev/berth"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// Source is what Backup reads: a named volume, or a path in a container (a data-volume
// container's volume, or any directory of a container's filesystem).
type Source struct {
	Volume    string // a named volume; a helper container mounts it when no container is given
	Container string // a container name or ID
	Path      string // with Container: an absolute directory path; empty means its only mount
}

// VolumeSource is the named volume name.
func VolumeSource(name string) Source { return Source{Volume: name} }

// ContainerSource is directory dir in container ctr; an empty dir means the container's only
// mount (as for a data-volume container holding one volume).
func ContainerSource(ctr, dir string) Source { return Source{Container: ctr, Path: dir} }

// ParseSource reads the CLI form of a source: "VOLUME" or "CONTAINER:PATH".
func ParseSource(s string) (Source, error) {
	if c, p, ok := strings.Cut(s, ":"); ok {
		src := ContainerSource(c, p)
		return src, src.validate()
	}
	src := VolumeSource(s)
	return src, src.validate()
}

// String is the CLI form of s.
func (s Source) String() string {
	if s.Container != "" {
		return s.Container + ":" + s.Path
	}
	return s.Volume
}

func (s Source) validate() error {
	var p berth.Problems
	switch {
	case s.Container == "" && s.Volume == "":
		p.Add("source", "empty; want a volume name or CONTAINER:PATH")
	case s.Container != "" && s.Volume != "":
		p.Add("source", "both volume %q and container %q; give one", s.Volume, s.Container)
	case s.Volume != "":
		p.AddErr("source/volume", checkVolumeName("source/volume", s.Volume))
	case s.Path != "" && (!path.IsAbs(s.Path) || path.Clean(s.Path) == "/"):
		p.Add("source/path", "%q is not an absolute directory path below /", s.Path)
	}
	return p.Err()
}

// Quiesce says what Backup does to the running containers that use the source's volume while
// it reads it.
type Quiesce int

const (
	QuiesceNone  Quiesce = iota // read while they run (the default)
	QuiesceStop                 // stop them, start them again afterwards
	QuiescePause                // pause them (freezer cgroup), unpause them afterwards
)

// BackupOptions tune Backup.
type BackupOptions struct {
	Format Format // FormatTarGzip when empty
	// Level is the compression level: gzip 1 (fastest) to 9, zstd 1 (fastest) to 4; 0 means
	// the fast default (gzip 1, zstd 1).
	Level int
	// Quiesce stops or pauses the running containers using the volume during the read. They
	// are started or unpaused again when the read ends, also when it fails. With QuiesceStop,
	// replicated swarm services mounting the volume are scaled to 0 and back instead (a
	// global service is an error: pause it).
	Quiesce Quiesce
	// StopTimeout is the grace period, in seconds, before a stopped container is killed; nil
	// uses the container's own setting.
	StopTimeout *int
	// TempDir holds the manifest while it is written (one short line per entry); empty means
	// os.TempDir().
	TempDir string
}

// validate checks the options before anything is stopped or read.
func (o BackupOptions) validate() error {
	var p berth.Problems
	f, err := ParseFormat(string(o.Format))
	p.AddErr("format", err)
	switch {
	case f == FormatTarGzip && (o.Level < 0 || o.Level > 9):
		p.Add("level", "%d is not a gzip level; accepted: 1 (fastest) to 9 (best), 0 for the default", o.Level)
	case f == FormatTarZstd && (o.Level < 0 || o.Level > 4):
		p.Add("level", "%d is not a zstd level; accepted: 1 (fastest) to 4 (best), 0 for the default", o.Level)
	case f == FormatTar && o.Level != 0:
		p.Add("level", "%d for an uncompressed tar; leave it 0", o.Level)
	}
	if o.Quiesce < QuiesceNone || o.Quiesce > QuiescePause {
		p.Add("quiesce", "%d; accepted: QuiesceNone, QuiesceStop, QuiescePause", o.Quiesce)
	}
	if o.StopTimeout != nil && *o.StopTimeout < -1 {
		p.Add("stop_timeout", "%d seconds; want -1 (wait forever), 0 or more", *o.StopTimeout)
	}
	return p.Err()
}

// BackupResult says what Backup wrote and did.
type BackupResult struct {
	Summary
	Stopped []string // containers stopped during the read and started again
	Paused  []string // containers paused during the read and unpaused again
	Scaled  []string // swarm services scaled to 0 during the read and back again
	Skipped []string // entries not backed up (device nodes, sockets): restore could not write them
	// Changed lists the files that shrank or disappeared while they were read: the engine's
	// stream stops there, so Backup pads the file's entry with zeros to its announced size,
	// lists it here, and reads the rest of the source again (files that grow are cut at the
	// size they had when the read began, by the engine). Quiesce avoids both.
	Changed []string
}

// Backup writes an archive of src to w: its files through the Engine archive API (no image
// needs a shell or tar; a volume no container holds is reached through a created, never
// started helper container), compressed as opts.Format, with a manifest of every entry's size,
// mode, owner and SHA-256 as the last entry. It streams: memory does not grow with the volume.
// With opts.Quiesce the containers using the volume are stopped or paused and always started
// again, also when the backup fails; errors from that are joined to the returned error.
func Backup(ctx context.Context, cli Engine, src Source, w io.Writer, opts BackupOptions) (res BackupResult, err error) {
	if opts.Format == "" {
		opts.Format = FormatTarGzip
	}
	var p berth.Problems
	p.AddErr("source", src.validate())
	p.AddErr("options", opts.validate())
	if err := p.Err(); err != nil {
		return res, err
	}
	ctr, dir, vol, cleanup, err := resolveSource(ctx, cli, src)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, cleanup()) }()
	q, err := quiesce(ctx, cli, vol, ctr, opts)
	defer func() { err = errors.Join(err, q.resume(ctx)) }()
	res.Stopped, res.Paused, res.Scaled = q.stopped, q.paused, q.scaled
	if err != nil {
		return res, err
	}
	open := func() (io.ReadCloser, error) {
		rc, err := cli.CopyFromContainer(ctx, ctr, client.CopyFromContainerOptions{SourcePath: dir})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
		if !rc.Stat.Mode.IsDir() {
			rc.Content.Close()
			return nil, berth.Invalid("source/path", "%s in %s is not a directory", dir, src.Container)
		}
		return rc.Content, nil
	}
	aw := archiveWriter{format: opts.Format, level: opts.Level, tempDir: opts.TempDir, source: src.String()}
	res.Summary, res.Skipped, res.Changed, err = aw.write(open, w)
	if err != nil {
		return res, fmt.Errorf("volume: backup %s: %w", src, err)
	}
	return res, nil
}

// resolveSource returns the container and directory to read, the volume behind them (empty when
// the directory is not a volume) and a cleanup for a helper container.
func resolveSource(ctx context.Context, cli Engine, src Source) (ctr, dir, vol string, cleanup func() error, err error) {
	noop := func() error { return nil }
	if src.Volume != "" {
		if _, err := cli.VolumeInspect(ctx, src.Volume, client.VolumeInspectOptions{}); err != nil {
			return "", "", "", noop, fmt.Errorf("volume: backup: volume %q: %w", src.Volume, err)
		}
		h, err := newHelper(ctx, cli, src.Volume, true)
		if err != nil {
			return "", "", "", noop, err
		}
		return h.id, helperMount, src.Volume, func() error { return h.remove(ctx) }, nil
	}
	info, err := cli.ContainerInspect(ctx, src.Container, client.ContainerInspectOptions{})
	if err != nil {
		return "", "", "", noop, fmt.Errorf("volume: backup: container %q: %w", src.Container, err)
	}
	mp, err := mountAt(info.Container.Mounts, src.Path)
	if err != nil {
		return "", "", "", noop, err
	}
	dir = src.Path
	if dir == "" {
		dir = mp.Destination
	}
	if mp.Type == mount.TypeVolume && mp.Destination == path.Clean(dir) {
		vol = mp.Name
	}
	return info.Container.ID, dir, vol, noop, nil
}

// mountAt returns the mount at dir, or the only mount when dir is empty; a dir that is not a
// mount gives a zero MountPoint.
func mountAt(mounts []container.MountPoint, dir string) (container.MountPoint, error) {
	if dir == "" {
		if len(mounts) != 1 {
			return container.MountPoint{}, berth.Invalid("source/path", "empty, and the container has %d mounts; name one as CONTAINER:PATH", len(mounts))
		}
		return mounts[0], nil
	}
	for _, m := range mounts {
		if m.Destination == path.Clean(dir) {
			return m, nil
		}
	}
	return container.MountPoint{}, nil
}

// archiveWriter turns the engine's tar stream into a berth backup archive.
type archiveWriter struct {
	format  Format
	level   int
	tempDir string
	source  string
}

func (a archiveWriter) write(open func() (io.ReadCloser, error), w io.Writer) (Summary, []string, []string, error) {
	cw, closeCW, err := compressor(w, a.format, a.level)
	if err != nil {
		return Summary{}, nil, nil, err
	}
	spool, err := os.CreateTemp(a.tempDir, "berth-manifest-*")
	if err != nil {
		return Summary{}, nil, nil, fmt.Errorf("manifest spool file: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	lines := bufio.NewWriterSize(spool, 64<<10)
	hdr, _ := json.Marshal(manifestHeader{Kind: manifestKind, Version: manifestVersion, Source: a.source, Created: time.Now().UTC().Format(time.RFC3339)})
	lines.Write(append(hdr, '\n'))
	c := &copier{tw: tar.NewWriter(cw), lines: lines, buf: make([]byte, 256<<10)}
	if err := c.run(open); err != nil {
		return c.sum, c.skipped, c.changed, err
	}
	c.sum.Format = a.format
	if err := appendManifest(c.tw, lines, spool, c.sum); err != nil {
		return c.sum, c.skipped, c.changed, err
	}
	if err := c.tw.Close(); err != nil {
		return c.sum, c.skipped, c.changed, fmt.Errorf("write archive: %w", err)
	}
	return c.sum, c.skipped, c.changed, closeCW()
}

// appendManifest closes the manifest with its totals line and writes it as the last entry.
func appendManifest(tw *tar.Writer, lines *bufio.Writer, spool *os.File, sum Summary) error {
	tr, _ := json.Marshal(manifestTrailer{End: true, Entries: sum.Entries, Bytes: sum.Bytes})
	lines.Write(append(tr, '\n'))
	if err := lines.Flush(); err != nil {
		return fmt.Errorf("manifest spool: %w", err)
	}
	size, err := spool.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("manifest spool: %w", err)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("manifest spool: %w", err)
	}
	h := &tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Mode: 0o644, Size: size, ModTime: time.Now().Truncate(time.Second)}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if _, err := io.Copy(tw, spool); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// compressor wraps w for format; the returned close flushes and closes the compressor (not w).
func compressor(w io.Writer, format Format, level int) (io.Writer, func() error, error) {
	switch format {
	case FormatTarGzip:
		if level == 0 {
			level = gzip.BestSpeed
		}
		zw, err := gzip.NewWriterLevel(w, level)
		if err != nil {
			return nil, nil, berth.Invalid("level", "%d is not a gzip level; accepted: 1 to 9", level)
		}
		return zw, zw.Close, nil
	case FormatTarZstd:
		if level == 0 {
			level = 1
		}
		if level < 1 || level > 4 {
			return nil, nil, berth.Invalid("level", "%d is not a zstd level; accepted: 1 (fastest) to 4 (best)", level)
		}
		zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.EncoderLevel(level)), zstd.WithEncoderConcurrency(2))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd writer: %w", err)
		}
		return zw, zw.Close, nil
	default:
		return w, func() error { return nil }, nil
	}
}
