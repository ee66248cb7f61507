package berth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/moby/moby/api/types/registry"
)

// EncodeAuth encodes a registry credential as the engine's X-Registry-Auth header and the
// EncodedRegistryAuth fields of the client want it: JSON, base64url (RFC 4648 §5). A nil
// credential encodes to "", which sends none.
func EncodeAuth(a *registry.AuthConfig) (string, error) {
	if a == nil {
		return "", nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("berth: encode registry credential: %w", err)
	}
	return base64.URLEncoding.EncodeToString(b), nil
}
