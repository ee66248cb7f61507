package volume

import (
	"archive/tar"
	"strings"
	"time"

	"github.com/berthdev/berth"
)

// A plain archive is a tar (or tar.gz, tar.zst) without berth's layout and manifest, such as
// the classic `tar cvzf /backup/mysql-backup.tar.gz /var/lib/mysql` in a busybox container
// makes (members "var/lib/mysql/..."). Verify and Restore read one when VerifyOptions.Plain is
// set or StripComponents is positive. Its entries pass the same safety checks as a backup's;
// there is no manifest, so there are no sizes, owners or checksums to compare with: the
// archive is only known to read to its end (a compressed stream's own checksum included) and
// to hold nothing unsafe.

// plainMapper renames a plain archive's entries into the backup layout, so that one checker and
// one writer serve both: leading "/" and "./" are dropped (as GNU tar drops them), then the first
// StripComponents elements (GNU tar's --strip-components: an entry with no more elements is
// skipped), and the rest goes under DataDir. The volume's root is the directory entry that
// strips to nothing (for the busybox recipe with StripComponents 3: "var/lib/mysql/", whose
// owner and mode the root then gets), or a directory 0755 root:root made up before the first
// entry. A directory that an entry's path needs and the archive does not list first is made up
// as well (0755 root:root, the entry's time), as tar creates it on extraction. Memory grows
// with the number of directories, not of entries.
type plainMapper struct {
	strip    int
	rootSeen bool
	dirs     map[string]bool
}

func newPlainMapper(strip int) *plainMapper {
	return &plainMapper{strip: strip, dirs: map[string]bool{DataDir: true}}
}

// plainName strips name as described above: the remaining elements, and how many it had.
func (m *plainMapper) plainName(name string) (rest []string, total int) {
	var parts []string
	for _, p := range strings.Split(name, "/") {
		if p != "" && p != "." {
			parts = append(parts, p)
		}
	}
	if len(parts) < m.strip {
		return nil, len(parts)
	}
	return parts[m.strip:], len(parts)
}

// next returns the headers that stand for h in the backup layout: made-up directories first,
// then h renamed (the only one that can carry content). None means the entry is skipped.
func (m *plainMapper) next(h *tar.Header) ([]*tar.Header, error) {
	if h.Typeflag == tar.TypeXGlobalHeader {
		return nil, nil
	}
	parts, total := m.plainName(h.Name)
	var out []*tar.Header
	if len(parts) == 0 {
		if h.Typeflag != tar.TypeDir || total != m.strip {
			return nil, nil // shallower than the stripped prefix, or a file that strips to nothing
		}
		root := *h
		root.Name = DataDir + "/"
		m.rootSeen = true
		return []*tar.Header{&root}, nil
	}
	if !m.rootSeen {
		m.rootSeen = true
		out = append(out, madeDir(DataDir, h.ModTime))
	}
	for i := 1; i < len(parts); i++ {
		dir := DataDir + "/" + strings.Join(parts[:i], "/")
		if !m.dirs[dir] {
			m.dirs[dir] = true
			out = append(out, madeDir(dir, h.ModTime))
		}
	}
	mapped := *h
	mapped.Name = DataDir + "/" + strings.Join(parts, "/")
	if h.Typeflag == tar.TypeDir {
		m.dirs[mapped.Name] = true
		mapped.Name += "/"
	}
	if h.Typeflag == tar.TypeLink {
		target, _ := m.plainName(h.Linkname)
		if len(target) == 0 {
			return nil, unsafeEntry(h.Name, "hardlink target %q is stripped away (StripComponents %d)", h.Linkname, m.strip)
		}
		mapped.Linkname = DataDir + "/" + strings.Join(target, "/")
	}
	return append(out, &mapped), nil
}

func madeDir(name string, mtime time.Time) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: mtime}
}

// plainMapperFor returns the mapper opts ask for, or nil for a berth backup.
func plainMapperFor(opts VerifyOptions) *plainMapper {
	if !opts.Plain && opts.StripComponents <= 0 {
		return nil
	}
	return newPlainMapper(opts.StripComponents)
}

func (o VerifyOptions) validate() error {
	if o.StripComponents < 0 {
		return berth.Invalid("strip-components", "%d is negative; want the number of leading path elements to drop (GNU tar's --strip-components)", o.StripComponents)
	}
	return nil
}
