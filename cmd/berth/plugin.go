package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// The same binary is a Docker CLI plugin when installed as ~/.docker/cli-plugins/docker-berth:
// docker asks it for its metadata (`docker-berth docker-cli-plugin-metadata`) and runs
// `docker berth ARGS…` as `docker-berth berth ARGS…`.

const pluginName = "berth"

// pluginArgs drops the plugin name when the binary runs as a plugin: docker passes its own
// arguments on, global options first (`docker -H HOST berth stack ls` runs
// `docker-berth -H HOST berth stack ls`), and those are berth's global options too.
func pluginArgs(args []string) []string {
	if filepath.Base(os.Args[0]) != "docker-"+pluginName && os.Getenv("DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND") == "" {
		return args
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == pluginName:
			return append(append([]string{}, args[:i]...), args[i+1:]...)
		case globalTakesValue[a]:
			i++ // the option's value
		case !strings.HasPrefix(a, "-"):
			return args
		}
	}
	return args
}

// globalTakesValue are the global options that take their value as the next argument.
var globalTakesValue = map[string]bool{"-H": true, "--host": true, "-c": true, "--context": true, "--config": true,
	"--tlscacert": true, "--tlscert": true, "--tlskey": true}

func pluginMetadataCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "docker-cli-plugin-metadata",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e := json.NewEncoder(stdout())
			e.SetIndent("", "     ")
			return e.Encode(map[string]string{
				"SchemaVersion":    "0.1.0",
				"Vendor":           "berthdev",
				"Version":          version,
				"ShortDescription": "Deploy stacks planned, applied and watched until they converge",
				"URL":              "https://github.com/berthdev/berth",
			})
		},
	}
}
