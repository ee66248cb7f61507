package berth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moby/moby/client"
)

// ErrNoEngine is matched (errors.Is) by the error Connect returns when no Docker engine answers
// at the configured address.
var ErrNoEngine = errors.New("berth: no Docker engine answers")

// EngineError says which address was tried and why no engine answered there.
type EngineError struct {
	Host string // the address tried, as DOCKER_HOST spells it
	Err  error
}

func (e *EngineError) Error() string {
	return fmt.Sprintf("no Docker engine answers at %s (start one, or set DOCKER_HOST to where one listens): %v", e.Host, e.Err)
}

func (e *EngineError) Unwrap() []error { return []error{ErrNoEngine, e.Err} }

// Connect returns an Engine API client configured from the environment (DOCKER_HOST,
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH through go-connections, DOCKER_API_VERSION) with API
// version negotiation on, after checking that an engine answers. Extra client options are
// applied after the environment's. The caller closes the client.
func Connect(ctx context.Context, opts ...client.Opt) (*client.Client, error) {
	cli, err := client.New(append([]client.Opt{client.FromEnv}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("berth: engine client from the environment: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(pingCtx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		host := cli.DaemonHost()
		cli.Close()
		return nil, &EngineError{Host: host, Err: err}
	}
	return cli, nil
}
