package main

import (
	"context"
	"errors"
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
		return newGroup("secret", "Manage Swarm secrets", newSecretCreate(), newSecretInspect(), newSecretLs(), newObjectRm("secret", swarm.RemoveSecret))
	})
	addGroup(func() *cobra.Command {
		return newGroup("config", "Manage Swarm configs", newConfigCreate(), newConfigInspect(), newConfigLs(), newObjectRm("config", swarm.RemoveConfig))
	})
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
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		id, err := swarm.CreateSecret(cmd.Context(), cli, spec)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout(), id)
		return nil
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
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		id, err := swarm.CreateConfig(cmd.Context(), cli, spec)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout(), id)
		return nil
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
	cmd := newVerb("ls [OPTIONS]", "List secrets", noArgs, func(cmd *cobra.Command, _ []string) error {
		f, err := o.filterArgs("id", "label", "name", "driver")
		if err != nil {
			return err
		}
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
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
	cmd := newVerb("ls [OPTIONS]", "List configs", noArgs, func(cmd *cobra.Command, _ []string) error {
		f, err := o.filterArgs("id", "label", "name")
		if err != nil {
			return err
		}
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
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

func newSecretInspect() *cobra.Command {
	var format string
	var pretty bool
	cmd := newVerb("inspect [OPTIONS] SECRET [SECRET...]", "Display detailed information on one or more secrets", minArgs(1), func(cmd *cobra.Command, args []string) error {
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		var out []any
		for _, name := range args {
			s, err := swarm.InspectSecret(cmd.Context(), cli, name)
			if err != nil {
				return err
			}
			if pretty {
				fmt.Fprintf(stdout(), "ID:              %s\nName:            %s\nCreated at:      %s\nUpdated at:      %s\n", s.ID, s.Spec.Name, s.CreatedAt, s.UpdatedAt)
				continue
			}
			out = append(out, s)
		}
		if pretty {
			return nil
		}
		return printInspect(stdout(), format, out)
	})
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template ('json' or a Go template)")
	cmd.Flags().BoolVar(&pretty, "pretty", false, "Print the information in a human friendly format")
	cmd.ValidArgsFunction = completeNames(func(ctx context.Context, cli *client.Client) ([]string, error) {
		list, err := swarm.Secrets(ctx, cli, nil)
		var names []string
		for _, s := range list {
			names = append(names, s.Spec.Name)
		}
		return names, err
	})
	return cmd
}

func newConfigInspect() *cobra.Command {
	var format string
	var pretty bool
	cmd := newVerb("inspect [OPTIONS] CONFIG [CONFIG...]", "Display detailed information on one or more configs", minArgs(1), func(cmd *cobra.Command, args []string) error {
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		var out []any
		for _, name := range args {
			c, err := swarm.InspectConfig(cmd.Context(), cli, name)
			if err != nil {
				return err
			}
			if pretty {
				fmt.Fprintf(stdout(), "ID:\t\t\t%s\nName:\t\t\t%s\nCreated at:\t\t%s\nUpdated at:\t\t%s\nData:\n%s\n", c.ID, c.Spec.Name, c.CreatedAt, c.UpdatedAt, c.Spec.Data)
				continue
			}
			out = append(out, c)
		}
		if pretty {
			return nil
		}
		return printInspect(stdout(), format, out)
	})
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template ('json' or a Go template)")
	cmd.Flags().BoolVar(&pretty, "pretty", false, "Print the information in a human friendly format")
	return cmd
}

// newObjectRm is `secret rm` or `config rm`.
func newObjectRm[C any](kind string, remove func(context.Context, C, string) error) *cobra.Command {
	cmd := newVerb("rm "+map[string]string{"secret": "SECRET [SECRET...]", "config": "CONFIG [CONFIG...]"}[kind], "Remove one or more "+kind+"s", minArgs(1), func(cmd *cobra.Command, args []string) error {
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		var errs []error
		for _, name := range args {
			if err := remove(cmd.Context(), any(cli).(C), name); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintln(stdout(), name)
		}
		return errors.Join(errs...)
	})
	cmd.Aliases = []string{"remove"}
	return cmd
}
