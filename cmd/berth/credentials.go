package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/swarm"
)

// Registry credentials, kept as the Docker CLI keeps them: the "auths" of config.json in the
// config directory (base64 of USER:PASSWORD), or a credential helper (`credsStore`, or
// `credHelpers` per registry) run as docker-credential-NAME get|store|erase.

const dockerHubServer = "https://index.docker.io/v1/"

func init() {
	addGroup(newLoginCommand)
	addGroup(newLogoutCommand)
}

// dockerConfig is config.json, with the fields berth reads and every other field kept as is.
type dockerConfig struct {
	raw         map[string]json.RawMessage
	Auths       map[string]authEntry
	CredsStore  string
	CredHelpers map[string]string
}

type authEntry struct {
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

func readDockerConfig() (*dockerConfig, error) {
	cfg := &dockerConfig{raw: map[string]json.RawMessage{}, Auths: map[string]authEntry{}}
	raw, err := os.ReadFile(filepath.Join(configDir(), "config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &cfg.raw); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(configDir(), "config.json"), err)
	}
	json.Unmarshal(cfg.raw["auths"], &cfg.Auths)
	json.Unmarshal(cfg.raw["credsStore"], &cfg.CredsStore)
	json.Unmarshal(cfg.raw["credHelpers"], &cfg.CredHelpers)
	if cfg.Auths == nil {
		cfg.Auths = map[string]authEntry{}
	}
	return cfg, nil
}

func (c *dockerConfig) write() error {
	b, _ := json.Marshal(c.Auths)
	c.raw["auths"] = b
	out, err := json.MarshalIndent(c.raw, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(configDir(), 0o700); err != nil {
		return err
	}
	name := filepath.Join(configDir(), "config.json")
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// helperFor is the credential helper for a registry, or "".
func (c *dockerConfig) helperFor(server string) string {
	if h, ok := c.CredHelpers[server]; ok {
		return h
	}
	return c.CredsStore
}

// credentialHelper runs docker-credential-NAME ACTION with input on stdin.
func credentialHelper(name, action string, input []byte) ([]byte, error) {
	cmd := exec.Command("docker-credential-"+name, action)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("credential helper docker-credential-%s %s: %v: %s%s", name, action, err, stderr.String(), out)
	}
	return out, nil
}

// lookupAuth returns the stored credentials for a registry host ("docker.io" for Docker Hub).
func lookupAuth(host string) (registry.AuthConfig, bool) {
	cfg, err := readDockerConfig()
	if err != nil {
		return registry.AuthConfig{}, false
	}
	server := host
	if host == "docker.io" || host == "index.docker.io" {
		server = dockerHubServer
	}
	if h := cfg.helperFor(server); h != "" {
		out, err := credentialHelper(h, "get", []byte(server))
		if err != nil {
			return registry.AuthConfig{}, false
		}
		var c struct{ Username, Secret string }
		if json.Unmarshal(out, &c) != nil {
			return registry.AuthConfig{}, false
		}
		ac := registry.AuthConfig{ServerAddress: server, Username: c.Username, Password: c.Secret}
		if c.Username == "<token>" {
			ac = registry.AuthConfig{ServerAddress: server, IdentityToken: c.Secret}
		}
		return ac, true
	}
	for key, a := range cfg.Auths {
		k := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://"), "/")
		if k != host && !(server == dockerHubServer && strings.HasPrefix(k, "index.docker.io")) {
			continue
		}
		ac := registry.AuthConfig{ServerAddress: key, IdentityToken: a.IdentityToken}
		if dec, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
			ac.Username, ac.Password, _ = strings.Cut(string(dec), ":")
		}
		return ac, true
	}
	return registry.AuthConfig{}, false
}

func imageHost(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	return reference.Domain(named)
}

// registryAuthFor returns the stored credentials for an image's registry, or nil.
func registryAuthFor(image string) *swarm.Auth {
	ac, ok := lookupAuth(imageHost(image))
	if !ok {
		return nil
	}
	return &ac
}

func newLoginCommand() *cobra.Command {
	var user, password string
	var passwordStdin bool
	cmd := newVerb("login [OPTIONS] [SERVER]", "Authenticate to a registry", rangeArgs(0, 1), func(cmd *cobra.Command, args []string) error {
		server := dockerHubServer
		if len(args) == 1 {
			server = args[0]
		}
		if passwordStdin {
			if password != "" {
				return usageFail(cmd, 125, "--password and --password-stdin are mutually exclusive")
			}
			line, err := bufio.NewReader(os.Stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			password = strings.TrimRight(line, "\r\n")
		}
		if user == "" || password == "" {
			return errors.New("give --username and --password (or --password-stdin); berth does not prompt")
		}
		ctx := cmd.Context()
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		res, err := cli.RegistryLogin(ctx, client.RegistryLoginOptions{Username: user, Password: password, ServerAddress: server})
		if err != nil {
			return fmt.Errorf("login to %s: %w", server, err)
		}
		cfg, err := readDockerConfig()
		if err != nil {
			return err
		}
		key := strings.TrimSuffix(strings.TrimPrefix(server, "https://"), "/")
		if server == dockerHubServer {
			key = server
		}
		entry := authEntry{Auth: base64.StdEncoding.EncodeToString([]byte(user + ":" + password)), IdentityToken: res.Auth.IdentityToken}
		if h := cfg.helperFor(key); h != "" {
			in, _ := json.Marshal(map[string]string{"ServerURL": key, "Username": user, "Secret": password})
			if _, err := credentialHelper(h, "store", in); err != nil {
				return err
			}
			entry = authEntry{}
		}
		cfg.Auths[key] = entry
		if err := cfg.write(); err != nil {
			return err
		}
		fmt.Fprintln(stdout(), "Login Succeeded")
		return nil
	})
	cmd.Flags().StringVarP(&user, "username", "u", "", "Username")
	cmd.Flags().StringVarP(&password, "password", "p", "", "Password or Personal Access Token (PAT)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "Take the Password or Personal Access Token (PAT) from stdin")
	return cmd
}

func newLogoutCommand() *cobra.Command {
	return newVerb("logout [SERVER]", "Log out from a registry", rangeArgs(0, 1), func(cmd *cobra.Command, args []string) error {
		key := dockerHubServer
		if len(args) == 1 {
			key = strings.TrimSuffix(strings.TrimPrefix(args[0], "https://"), "/")
		}
		cfg, err := readDockerConfig()
		if err != nil {
			return err
		}
		if h := cfg.helperFor(key); h != "" {
			if _, err := credentialHelper(h, "erase", []byte(key)); err != nil {
				return err
			}
		}
		if _, ok := cfg.Auths[key]; !ok && cfg.helperFor(key) == "" {
			fmt.Fprintf(stdout(), "Not logged in to %s\n", key)
			return nil
		}
		delete(cfg.Auths, key)
		if err := cfg.write(); err != nil {
			return err
		}
		fmt.Fprintf(stdout(), "Removing login credentials for %s\n", key)
		return nil
	})
}
