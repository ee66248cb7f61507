package main

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// The same binary is a Docker CLI plugin when installed as ~/.docker/cli-plugins/docker-berth:
// docker asks it for its metadata (`docker-berth docker-cli-plugin-metadata`) and runs
// `docker berth ARGS…` as `docker-berth berth ARGS…`.

const pluginName = "berth"

// pluginArgs drops the plugin name docker passes first when the binary runs as a plugin.
func pluginArgs(args []string) []string {
	if filepath.Base(os.Args[0]) == "docker-"+pluginName && len(args) > 0 && args[0] == pluginName {
		return args[1:]
	}
	return args
}

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
