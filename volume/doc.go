// Package volume manages Docker volumes, bind mounts and data-volume containers, and backs
// volumes up and restores them through the Engine archive API.
//
// A volume is described with New(name) and its Driver, Option and Label methods, then created
// with Create; Inspect, List and Remove complete the life cycle. Named and Bind return the mount
// specs that swarm services and containers take. CreateDataContainer makes the classic
// data-volume container that other containers mount with VolumesFrom.
//
// Backup streams a volume, or a directory of a container, into a tar.gz (default), tar.zst or
// tar archive whose last entry is a manifest of every entry's size, mode, owner and SHA-256.
// Verify checks such an archive without writing anything; Restore verifies the whole archive
// first and only then writes it into a new volume (or an existing one, merging or replacing).
// None of them needs a shell or tar in any image: a volume that no container holds is reached
// through a created, never-started container of a tiny image that berth imports itself.
//
// Archive layout: the entry "data/" is the volume's root and every file is under it, so
// `tar xzf backup.tar.gz` gives the same tree as the classic
// `docker run --rm --volumes-from X -v $PWD:/backup busybox tar czf /backup/b.tar.gz /data`.
// The manifest, berth-manifest.json, comes last.
package volume
