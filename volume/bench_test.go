package volume

import (
	"archive/tar"
	"bytes"
	"io"
	"math/rand"
	"testing"
	"time"
)

// mixedTar is an engine-like tar of /data: many small text files and a few large files, one
// random and one repetitive, about size bytes.
func mixedTar(b *testing.B, size int) []byte {
	r := rand.New(rand.NewSource(1))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(1700000000, 0)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "data/", Mode: 0o755, ModTime: mt})
	text := bytes.Repeat([]byte("2026-11-26T12:00:00Z level=info msg=\"request served\" path=/api/v1/items\n"), 1<<10)
	random := make([]byte, size/3)
	r.Read(random)
	add := func(name string, body []byte) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: mt})
		tw.Write(body)
	}
	add("data/random.bin", random)
	add("data/app.log", bytes.Repeat(text, size/3/len(text)+1)[:size/3])
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "data/small/", Mode: 0o755, ModTime: mt})
	for i := 0; buf.Len() < size; i++ {
		add("data/small/f"+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676%26)), text[:r.Intn(len(text)/4)])
	}
	tw.Close()
	return buf.Bytes()
}

// BenchmarkArchive measures berth's side of a backup (tar re-encoding, SHA-256, compression,
// manifest) and of Verify, without the engine: go test -run XXX -bench Archive ./volume/
func BenchmarkArchive(b *testing.B) {
	src := mixedTar(b, 64<<20)
	for _, f := range []Format{FormatTarGzip, FormatTarZstd, FormatTar} {
		var archive []byte
		b.Run("write-"+string(f), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				var out bytes.Buffer
				aw := archiveWriter{format: f, tempDir: b.TempDir()}
				if _, _, _, err := aw.write(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(src)), nil }, &out); err != nil {
					b.Fatal(err)
				}
				archive = out.Bytes()
			}
		})
		b.Run("verify-"+string(f), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := Verify(bytes.NewReader(archive), VerifyOptions{TempDir: b.TempDir()}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
