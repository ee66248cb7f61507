package berth_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/moby/moby/api/types/registry"

	"github.com/berthdev/berth"
)

func TestEncodeAuth(t *testing.T) {
	if got, err := berth.EncodeAuth(nil); err != nil || got != "" {
		t.Fatalf("EncodeAuth(nil) = %q, %v; want \"\", nil", got, err)
	}
	in := registry.AuthConfig{Username: "u", Password: "p?>", ServerAddress: "127.0.0.1:5000"}
	enc, err := berth.EncodeAuth(&in)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.URLEncoding.DecodeString(enc)
	if err != nil {
		t.Fatalf("%q is not base64url: %v", enc, err)
	}
	var out registry.AuthConfig
	if err := json.Unmarshal(raw, &out); err != nil || out != in {
		t.Fatalf("decoded %+v, %v; want %+v", out, err, in)
	}
}
