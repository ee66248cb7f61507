package main

import (
	"context"
	"fmt"
	"io"
	"time"

	units "github.com/docker/go-units"
	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/swarm"
)

// The secret and config groups: `berth secret|config create|inspect|ls|rm`, as the Docker CLI's.

func init() {
	addGroup(func() *cobra.Command {
		return newGroup("secret", "Manage Swarm secrets", newSecretCreate(), newSecretInspect(), newSecretLs(), withNames(secretNames, removeVerb("rm SECRET [SECRET...]", "Remove one or more secrets", func(ctx context.Context, cli *client.Client, n string) error { return swarm.RemoveSecret(ctx, cli, n) })))
	})
	addGroup(func() *cobra.Command {
		return newGroup("config", "Manage Swarm configs", newConfigCreate(), newConfigInspect(), newConfigLs(), withNames(configNames, removeVerb("rm CONFIG [CONFIG...]", "Remove one or more configs", func(ctx context.Context, cli *client.Client, n string) error { return swarm.RemoveConfig(ctx, cli, n) })))
	})
}

// printCreated connects, creates and prints the new object's ID.
func printCreated(cmd *cobra.Command, create func(context.Context, *client.Client) (string, error)) error {
	cli, err := engine(cmd.Context())
	if err != nil {
		return err
	}
	defer cli.Close()
	id, err := create(cmd.Context(), cli)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout(), id)
	return nil
}

// readData reads a secret's or config's content from a file or, for "-", standard input.
func readData(name string) ([]byte, error) {
	in, err := openInput(name)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return io.ReadAll(in)
}

func newSecretCreate() *cobra.Command {
	var driver, templateDriver string
	labels := keyValues{}
	cmd := newVerb("create [OPTIONS] SECRET [file|-]", "Create a secret from a file or STDIN as content", rangeArgs(1, 2), func(cmd *cobra.Command, args []string) error {
		spec := swarmtypes.SecretSpec{Annotations: swarmtypes.Annotations{Name: args[0], Labels: labels}}
		switch {
		case driver != "":
			if len(args) == 2 {
				return usageFail(cmd, 1, "when using secret driver secret data must be empty")
			}
			spec.Driver = &swarmtypes.Driver{Name: driver}
		case len(args) < 2:
			return usageFail(cmd, 1, "'berth secret create' requires exactly 2 arguments (or --driver)")
		default:
			data, err := readData(args[1])
			if err != nil {
				return err
			}
			spec.Data = data
		}
		if templateDriver != "" {
			spec.Templating = &swarmtypes.Driver{Name: templateDriver}
		}
		return printCreated(cmd, func(ctx context.Context, cli *client.Client) (string, error) {
			return swarm.CreateSecret(ctx, cli, spec)
		})
	})
	f := cmd.Flags()
	f.StringVarP(&driver, "driver", "d", "", "Secret driver")
	f.VarP(labels, "label", "l", "Secret labels")
	f.StringVar(&templateDriver, "template-driver", "", "Template driver")
	return cmd
}

func newConfigCreate() *cobra.Command {
	var templateDriver string
	labels := keyValues{}
	cmd := newVerb("create [OPTIONS] CONFIG file|-", "Create a config from a file or STDIN", exactArgs(2), func(cmd *cobra.Command, args []string) error {
		data, err := readData(args[1])
		if err != nil {
			return err
		}
		spec := swarmtypes.ConfigSpec{Annotations: swarmtypes.Annotations{Name: args[0], Labels: labels}, Data: data}
		if templateDriver != "" {
			spec.Templating = &swarmtypes.Driver{Name: templateDriver}
		}
		return printCreated(cmd, func(ctx context.Context, cli *client.Client) (string, error) {
			return swarm.CreateConfig(ctx, cli, spec)
		})
	})
	cmd.Flags().VarP(labels, "label", "l", "Config labels")
	cmd.Flags().StringVar(&templateDriver, "template-driver", "", "Template driver")
	return cmd
}

type secretRow struct {
	ID, Name, Driver string
	CreatedAt        string `header:"CREATED"`
	UpdatedAt        string `header:"UPDATED"`
	Labels           string
}

func since(t time.Time) string { return units.HumanDuration(time.Since(t)) + " ago" }

func newSecretLs() *cobra.Command {
	var o listOptions
	cmd := engineVerb("ls [OPTIONS]", "List secrets", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		f, err := o.filterArgs("id", "label", "name", "driver")
		if err != nil {
			return err
		}
		list, err := swarm.Secrets(cmd.Context(), cli, f)
		if err != nil {
			return err
		}
		var rows []secretRow
		for _, s := range list {
			r := secretRow{ID: s.ID, Name: s.Spec.Name, CreatedAt: since(s.CreatedAt), UpdatedAt: since(s.UpdatedAt), Labels: nodeLabels(s.Spec.Labels)}
			if s.Spec.Driver != nil {
				r.Driver = s.Spec.Driver.Name
			}
			rows = append(rows, r)
		}
		return printRows(stdout(), o, "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}", rows, func(r secretRow) string { return r.ID })
	})
	addListFlags(cmd, &o, "IDs", "id, label, name, driver", false)
	cmd.Aliases = []string{"list"}
	return cmd
}

type configRow struct {
	ID, Name  string
	CreatedAt string `header:"CREATED"`
	UpdatedAt string `header:"UPDATED"`
	Labels    string
}

func newConfigLs() *cobra.Command {
	var o listOptions
	cmd := engineVerb("ls [OPTIONS]", "List configs", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		f, err := o.filterArgs("id", "label", "name")
		if err != nil {
			return err
		}
		list, err := swarm.Configs(cmd.Context(), cli, f)
		if err != nil {
			return err
		}
		var rows []configRow
		for _, c := range list {
			rows = append(rows, configRow{ID: c.ID, Name: c.Spec.Name, CreatedAt: since(c.CreatedAt), UpdatedAt: since(c.UpdatedAt), Labels: nodeLabels(c.Spec.Labels)})
		}
		return printRows(stdout(), o, "{{.ID}}\t{{.Name}}\t{{.CreatedAt}}\t{{.UpdatedAt}}", rows, func(r configRow) string { return r.ID })
	})
	addListFlags(cmd, &o, "IDs", "id, label, name", false)
	cmd.Aliases = []string{"list"}
	return cmd
}

// newObjectRm is `secret rm` or `config rm`.

func newSecretInspect() *cobra.Command {
	return withNames(secretNames, inspectVerb("inspect [OPTIONS] SECRET [SECRET...]", "Display detailed information on one or more secrets",
		func(ctx context.Context, cli *client.Client, name string) (swarmtypes.Secret, error) {
			return swarm.InspectSecret(ctx, cli, name)
		},
		func(w io.Writer, s swarmtypes.Secret) {
			fmt.Fprintf(w, "ID:              %s\nName:            %s\nCreated at:      %s\nUpdated at:      %s\n", s.ID, s.Spec.Name, s.CreatedAt, s.UpdatedAt)
		}))
}

func newConfigInspect() *cobra.Command {
	return withNames(configNames, inspectVerb("inspect [OPTIONS] CONFIG [CONFIG...]", "Display detailed information on one or more configs",
		func(ctx context.Context, cli *client.Client, name string) (swarmtypes.Config, error) {
			return swarm.InspectConfig(ctx, cli, name)
		},
		func(w io.Writer, c swarmtypes.Config) {
			fmt.Fprintf(w, "ID:\t\t\t%s\nName:\t\t\t%s\nCreated at:\t\t%s\nUpdated at:\t\t%s\nData:\n%s\n", c.ID, c.Spec.Name, c.CreatedAt, c.UpdatedAt, c.Spec.Data)
		}))
}
