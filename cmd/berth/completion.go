package main

import (
	"context"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/stack"
)

// Shell completion: `berth completion bash|zsh|fish|powershell` (cobra's) prints the script;
// the script asks `berth __complete …`, and the verbs' ValidArgsFunction answer with names
// from the engine.

// completeNames completes arguments with the names list returns.
func completeNames(list func(context.Context, *client.Client) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		cli, err := engine(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		defer cli.Close()
		names, err := list(ctx, cli)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []cobra.Completion
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// withNames makes cmd complete its arguments with the names list returns.
func withNames(list func(context.Context, *client.Client) ([]string, error), cmd *cobra.Command) *cobra.Command {
	cmd.ValidArgsFunction = completeNames(list)
	return cmd
}

// completeSpecFlags completes the names service create and update flags take.
func completeSpecFlags(cmd *cobra.Command) {
	for flag, list := range map[string]func(context.Context, *client.Client) ([]string, error){
		"network": networkNames, "network-add": networkNames, "network-rm": networkNames,
		"secret": secretNames, "secret-add": secretNames, "secret-rm": secretNames,
		"config": configNames, "config-add": configNames, "config-rm": configNames,
	} {
		if cmd.Flags().Lookup(flag) != nil {
			cmd.RegisterFlagCompletionFunc(flag, completeNames(list))
		}
	}
}

func secretNames(ctx context.Context, cli *client.Client) ([]string, error) {
	res, err := cli.SecretList(ctx, client.SecretListOptions{})
	var out []string
	for _, s := range res.Items {
		out = append(out, s.Spec.Name)
	}
	return out, err
}

func configNames(ctx context.Context, cli *client.Client) ([]string, error) {
	res, err := cli.ConfigList(ctx, client.ConfigListOptions{})
	var out []string
	for _, c := range res.Items {
		out = append(out, c.Spec.Name)
	}
	return out, err
}

func stackNames(ctx context.Context, cli *client.Client) ([]string, error) {
	stacks, err := stack.List(ctx, cli)
	var out []string
	for _, s := range stacks {
		out = append(out, s.Name)
	}
	return out, err
}

func serviceNames(ctx context.Context, cli *client.Client) ([]string, error) {
	res, err := cli.ServiceList(ctx, client.ServiceListOptions{})
	var out []string
	for _, s := range res.Items {
		out = append(out, s.Spec.Name)
	}
	return out, err
}

func nodeNames(ctx context.Context, cli *client.Client) ([]string, error) {
	res, err := cli.NodeList(ctx, client.NodeListOptions{})
	var out []string
	for _, n := range res.Items {
		out = append(out, n.Description.Hostname)
	}
	return out, err
}

func volumeNames(ctx context.Context, cli *client.Client) ([]string, error) {
	res, err := cli.VolumeList(ctx, client.VolumeListOptions{})
	var out []string
	for _, v := range res.Items {
		out = append(out, v.Name)
	}
	return out, err
}

func networkNames(ctx context.Context, cli *client.Client) ([]string, error) {
	res, err := cli.NetworkList(ctx, client.NetworkListOptions{})
	var out []string
	for _, n := range res.Items {
		out = append(out, n.Name)
	}
	return out, err
}
