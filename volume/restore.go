package volume

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/berthdev/berth"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// RestoreMode says what Restore does with the target volume.
type RestoreMode int

const (
	// RestoreNew creates the target volume; an existing volume of that name is an error
	// (matching cerrdefs.IsConflict). The default.
	RestoreNew RestoreMode = iota
	// RestoreMerge writes the archive over an existing volume (created when missing): entries
	// of the archive replace files of the same name, other files stay.
	RestoreMerge
	// RestoreReplace empties the target first: the volume is removed and created again with
	// the same driver, options and labels, so no container may use it (not even a stopped one).
	// This happens only after the archive verified; should the write still fail (the disk
	// fills up, the engine goes away), the volume holds part of the archive, and restoring the
	// same archive again completes it.
	RestoreReplace
)

// RestoreOptions tune Restore.
type RestoreOptions struct {
	Mode RestoreMode
	// Create describes the volume to create (driver, options, labels) in RestoreNew mode, or
	// when RestoreMerge finds no volume; nil means New(target) with the local driver.
	Create *Builder
	// Verify tunes the verification that runs before anything is written.
	Verify VerifyOptions
}

// RestoreResult says what Restore wrote.
type RestoreResult struct {
	Summary
	Created bool // the target volume was created (or, with RestoreReplace, created again)
}

// Restore reads a backup archive from r and writes it into the volume target. It first reads
// and verifies the whole archive (see Verify), spooling it to a temporary file in
// opts.Verify.TempDir so that memory stays bounded; only when the archive is sound does it touch
// the engine's volumes, streaming the spooled archive through the Engine archive API into a
// created, never-started helper container that mounts the target. Owners, modes (setuid,
// setgid, sticky included), symlinks, hardlinks, empty directories and modification times are
// preserved. A corrupt, truncated or hostile archive returns an *ArchiveError and leaves the
// target as it was (in RestoreNew mode, not created). A plain archive (one made by tar, without
// berth's manifest, such as the busybox `tar cvzf` recipe) is restored with opts.Verify.Plain
// or StripComponents; see VerifyOptions.
func Restore(ctx context.Context, cli Engine, r io.Reader, target string, opts RestoreOptions) (res RestoreResult, err error) {
	if err := checkRestore(target, opts); err != nil {
		return res, err
	}
	exists, err := volumeExists(ctx, cli, target)
	if err != nil {
		return res, err
	}
	if exists && opts.Mode == RestoreNew {
		return res, fmt.Errorf("volume: restore: volume %q already exists (restore with merge or replace): %w", target, cerrdefs.ErrConflict)
	}
	spool, err := os.CreateTemp(opts.Verify.TempDir, "berth-restore-*")
	if err != nil {
		return res, fmt.Errorf("volume: restore: spool file: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	res.Summary, err = verifyStream(io.TeeReader(r, spool), opts.Verify)
	if err != nil {
		return res, err
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return res, fmt.Errorf("volume: restore: spool file: %w", err)
	}
	res.Created, err = prepareTarget(ctx, cli, target, exists, opts)
	if err != nil {
		return res, err
	}
	if err := writeVolume(ctx, cli, spool, target, plainMapperFor(opts.Verify)); err != nil {
		if res.Created && !exists {
			_, rmErr := cli.VolumeRemove(context.WithoutCancel(ctx), target, client.VolumeRemoveOptions{})
			err = errors.Join(err, rmErr)
		}
		return res, err
	}
	return res, nil
}

func checkRestore(target string, opts RestoreOptions) error {
	var p berth.Problems
	if target == "" {
		p.Add("target", "empty; want the name of the volume to restore into")
	} else {
		p.AddErr("target", checkVolumeName("target", target))
	}
	if opts.Mode < RestoreNew || opts.Mode > RestoreReplace {
		p.Add("mode", "%d is not a restore mode; accepted: RestoreNew, RestoreMerge, RestoreReplace", opts.Mode)
	}
	p.AddErr("verify", opts.Verify.validate())
	if opts.Create != nil && opts.Create.spec.Name != "" && opts.Create.spec.Name != target {
		p.Add("create/name", "%q differs from the target %q", opts.Create.spec.Name, target)
	}
	return p.Err()
}

func volumeExists(ctx context.Context, cli Engine, name string) (bool, error) {
	_, err := cli.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("volume: inspect %q: %w", name, err)
	}
}

// prepareTarget creates the target volume, or empties it by removing and creating it again. It
// reports whether the volume was (re)created.
func prepareTarget(ctx context.Context, cli Engine, target string, exists bool, opts RestoreOptions) (bool, error) {
	b := opts.Create
	if b == nil {
		b = New(target)
	}
	switch {
	case !exists:
		_, err := b.named(target).Create(ctx, cli)
		return err == nil, err
	case opts.Mode == RestoreReplace:
		return true, recreate(ctx, cli, target)
	}
	return false, nil
}

// recreate removes volume name and creates it again with the same driver, options and labels.
func recreate(ctx context.Context, cli Engine, name string) error {
	old, err := cli.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
	if err != nil {
		return fmt.Errorf("volume: restore: inspect %q: %w", name, err)
	}
	if _, err := cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{}); err != nil {
		return fmt.Errorf("volume: restore --replace: remove %q first (stop and remove the containers using it, or merge): %w", name, err)
	}
	v := old.Volume
	_, err = cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Driver: v.Driver, DriverOpts: v.Options, Labels: v.Labels})
	if err != nil {
		return fmt.Errorf("volume: restore --replace: create %q again: %w", name, err)
	}
	return nil
}

// writeVolume streams the verified archive in spool into volume target through a helper
// container: the data entries only (a plain archive's renamed by plain, as verification renamed
// them), re-encoded as a plain tar, extracted at the helper's root so that "data/" lands on the
// volume's root.
func writeVolume(ctx context.Context, cli Engine, spool io.Reader, target string, plain *plainMapper) (err error) {
	h, err := newHelper(ctx, cli, target, false)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, h.remove(ctx)) }()
	stream, _, release, err := decompress(spool)
	if err != nil {
		return err
	}
	defer release()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(dataEntries(tar.NewReader(stream), pw, plain)) }()
	_, err = cli.CopyToContainer(ctx, h.id, client.CopyToContainerOptions{
		DestinationPath: "/", Content: pr, AllowOverwriteDirWithFile: true,
	})
	pr.CloseWithError(errors.New("restore ended"))
	if err != nil {
		return fmt.Errorf("volume: restore into %q: %w", target, err)
	}
	return nil
}

// dataEntries copies the data entries of a verified archive to w as a plain tar: up to the
// manifest, or for a plain archive (plain not nil) to its end, renamed.
func dataEntries(tr *tar.Reader, w io.Writer, plain *plainMapper) error {
	tw := tar.NewWriter(w)
	buf := make([]byte, 256<<10)
	for {
		h, err := tr.Next()
		switch {
		case plain != nil && errors.Is(err, io.EOF):
			return tw.Close()
		case err != nil:
			return fmt.Errorf("read verified archive: %w", err)
		case plain == nil && h.Name == ManifestName:
			return tw.Close()
		}
		headers := []*tar.Header{h}
		if plain != nil {
			if headers, err = plain.next(h); err != nil {
				return err
			}
		}
		for _, mh := range headers {
			nh := normalHeader(mh, mh.Name)
			if err := tw.WriteHeader(nh); err != nil {
				return err
			}
			if nh.Typeflag == tar.TypeReg {
				if _, err := io.CopyBuffer(tw, tr, buf); err != nil {
					return err
				}
			}
		}
	}
}
