package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
)

// globalOptions are the root's flags (before the command, as with docker).
type globalOptions struct {
	hosts                  []string
	context                string
	config                 string
	tlsVerify              bool
	tlsCA, tlsCert, tlsKey string
}

var global globalOptions

// engine connects to the engine the global flags, the environment and the Docker CLI's
// current context name, in the Docker CLI's order: -H, --context, DOCKER_HOST, DOCKER_CONTEXT,
// the config file's currentContext.
func engine(ctx context.Context) (*client.Client, error) {
	opts, err := endpoint()
	if err != nil {
		return nil, err
	}
	return berth.Connect(ctx, opts...)
}

func endpoint() ([]client.Opt, error) {
	if len(global.hosts) > 1 {
		return nil, &usageError{code: 125, msg: "berth: specify only one -H"}
	}
	if len(global.hosts) == 1 {
		if global.context != "" {
			return nil, &usageError{code: 125, msg: "berth: conflicting options: either specify --host or --context, not both"}
		}
		return hostOpts(global.hosts[0], tlsFiles())
	}
	name := contextName()
	if name == "default" {
		return nil, nil // the environment: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH
	}
	ep, err := loadContext(name)
	if err != nil {
		return nil, err
	}
	return hostOpts(ep.Host, ep.tls)
}

// configDir is the Docker CLI's configuration directory: --config, DOCKER_CONFIG or ~/.docker.
func configDir() string {
	if global.config != "" {
		return global.config
	}
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".docker")
}

func contextName() string {
	switch {
	case global.context != "":
		return global.context
	case os.Getenv("DOCKER_HOST") != "":
		return "default"
	case os.Getenv("DOCKER_CONTEXT") != "":
		return os.Getenv("DOCKER_CONTEXT")
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if raw, err := os.ReadFile(filepath.Join(configDir(), "config.json")); err == nil && json.Unmarshal(raw, &cfg) == nil && cfg.CurrentContext != "" {
		return cfg.CurrentContext
	}
	return "default"
}

type contextEndpoint struct {
	Host          string   `json:"Host"`
	SkipTLSVerify bool     `json:"SkipTLSVerify"`
	tls           []string // ca, cert, key files, when the context has them
}

// loadContext reads a context of the Docker CLI's store: contexts/meta/SHA256(NAME)/meta.json,
// with TLS files under contexts/tls/SHA256(NAME)/docker.
func loadContext(name string) (contextEndpoint, error) {
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	raw, err := os.ReadFile(filepath.Join(configDir(), "contexts", "meta", id, "meta.json"))
	if errors.Is(err, os.ErrNotExist) {
		return contextEndpoint{}, berth.Invalid("context", "context %q does not exist (see `docker context ls`)", name)
	}
	if err != nil {
		return contextEndpoint{}, err
	}
	var meta struct {
		Endpoints map[string]contextEndpoint `json:"Endpoints"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return contextEndpoint{}, fmt.Errorf("context %q: %w", name, err)
	}
	ep, ok := meta.Endpoints["docker"]
	if !ok || ep.Host == "" {
		return contextEndpoint{}, berth.Invalid("context", "context %q has no docker endpoint", name)
	}
	dir := filepath.Join(configDir(), "contexts", "tls", id, "docker")
	if _, err := os.Stat(filepath.Join(dir, "cert.pem")); err == nil && !ep.SkipTLSVerify {
		ep.tls = []string{filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")}
	}
	return ep, nil
}

// tlsFiles are the CA, certificate and key files of --tlsverify: the given ones, the rest
// from DOCKER_CERT_PATH or the config directory, as the Docker CLI finds them.
func tlsFiles() []string {
	if !global.tlsVerify && global.tlsCert == "" {
		return nil
	}
	dir := os.Getenv("DOCKER_CERT_PATH")
	if dir == "" {
		dir = configDir()
	}
	pick := func(given, name string) string {
		if given != "" {
			return given
		}
		return filepath.Join(dir, name)
	}
	return []string{pick(global.tlsCA, "ca.pem"), pick(global.tlsCert, "cert.pem"), pick(global.tlsKey, "key.pem")}
}

func hostOpts(host string, tls []string) ([]client.Opt, error) {
	u, err := url.Parse(host)
	if err != nil {
		return nil, berth.Invalid("host", "%q: %v", host, err)
	}
	if u.Scheme == "ssh" {
		return sshOpts(u)
	}
	opts := []client.Opt{client.WithHost(host)}
	if len(tls) == 3 {
		opts = append(opts, client.WithTLSClientConfig(tls[0], tls[1], tls[2]))
	}
	return opts, nil
}

// sshOpts reaches an engine over ssh as the Docker CLI's connection helper does: ssh runs
// `docker system dial-stdio` on the remote host and the API travels over its stdin and stdout.
func sshOpts(u *url.URL) ([]client.Opt, error) {
	args := []string{}
	if u.User != nil {
		args = append(args, "-l", u.User.Username())
	}
	if u.Port() != "" {
		args = append(args, "-p", u.Port())
	}
	args = append(args, "--", u.Hostname())
	if u.Path != "" && u.Path != "/" {
		return nil, berth.Invalid("host", "%q: an ssh host takes no path", u.String())
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		cmd := exec.Command("ssh", append(args, "docker", "system", "dial-stdio")...)
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("ssh to %s: %w", u.Host, err)
		}
		return &cmdConn{cmd: cmd, in: in, out: out}, nil
	}
	return []client.Opt{client.WithHost("http://docker.example.com"), client.WithDialContext(dial)}, nil
}

// cmdConn is a net.Conn over a command's standard input and output.
type cmdConn struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out io.ReadCloser
}

func (c *cmdConn) Read(p []byte) (int, error)  { return c.out.Read(p) }
func (c *cmdConn) Write(p []byte) (int, error) { return c.in.Write(p) }
func (c *cmdConn) Close() error {
	c.in.Close()
	c.out.Close()
	c.cmd.Process.Kill()
	return c.cmd.Wait()
}
func (c *cmdConn) LocalAddr() net.Addr                { return dummyAddr{} }
func (c *cmdConn) RemoteAddr() net.Addr               { return dummyAddr{} }
func (c *cmdConn) SetDeadline(t time.Time) error      { return nil }
func (c *cmdConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *cmdConn) SetWriteDeadline(t time.Time) error { return nil }

type dummyAddr struct{}

func (dummyAddr) Network() string { return "ssh" }
func (dummyAddr) String() string  { return "ssh" }
