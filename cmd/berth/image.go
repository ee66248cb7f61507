package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	units "github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/image"
)

// The image group, with build, pull, push and tag also at the top level as with docker.

func init() {
	addGroup(newImageCommand)
	addGroup(newBuild)
	addGroup(newPull)
	addGroup(newPush)
	addGroup(newTag)
	addGroup(func() *cobra.Command {
		c := newImageImport()
		c.Use = "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]"
		return c
	})
}

func newImageCommand() *cobra.Command {
	return newGroup("image", "Manage images",
		newBuild(), newImageHistory(), newImageImport(), newImageInspect(), newImageLoad(), newImageLs(),
		newImagePrune(), newPull(), newPush(), newImageRm(), newImageSave(), newTag())
}

// printProgress prints each event as a plain line and returns the stream's result.
func printProgress(events iter.Seq2[image.Event, error], quiet bool) (image.Result, error) {
	return image.Wait(func(yield func(image.Event, error) bool) {
		for ev, err := range events {
			if line := ev.String(); err == nil && !quiet && line != "" && ev.Current == 0 {
				fmt.Fprintln(stdout(), line)
			}
			if !yield(ev, err) {
				return
			}
		}
	})
}

func newBuild() *cobra.Command {
	var opts image.BuildOptions
	var buildArgs, labels []string
	var quiet bool
	var iidfile string
	cmd := newVerb("build [OPTIONS] PATH", "Build an image from a Dockerfile", exactArgs(1), func(cmd *cobra.Command, args []string) error {
		opts.BuildArgs = map[string]*string{}
		for _, kv := range buildArgs {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				v = os.Getenv(k)
			}
			opts.BuildArgs[k] = &v
		}
		if len(labels) > 0 {
			opts.Labels = map[string]string{}
			for _, kv := range labels {
				k, v, _ := strings.Cut(kv, "=")
				opts.Labels[k] = v
			}
		}
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		r, err := printProgress(image.Build(cmd.Context(), cli, image.Dir(args[0]), opts), quiet)
		if err != nil {
			return err
		}
		if iidfile != "" {
			if err := os.WriteFile(iidfile, []byte(r.ImageID), 0o644); err != nil {
				return err
			}
		}
		fmt.Fprintln(stdout(), r.ImageID)
		return nil
	})
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Tags, "tag", "t", nil, `Name and optionally a tag in the "name:tag" format`)
	f.Var((*stringList)(&buildArgs), "build-arg", "Set build-time variables")
	f.Var((*stringList)(&labels), "label", "Set metadata for an image")
	f.StringVarP(&opts.Dockerfile, "file", "f", "", `Name of the Dockerfile (default: "PATH/Dockerfile")`)
	f.BoolVar(&opts.NoCache, "no-cache", false, "Do not use cache when building the image")
	f.BoolVar(&opts.Pull, "pull", false, "Always attempt to pull a newer version of the image")
	f.StringVar(&opts.Target, "target", "", "Set the target build stage to build.")
	f.StringVar(&opts.Platform, "platform", "", "Set platform if server is multi-platform capable")
	f.BoolVarP(&quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	f.StringVar(&iidfile, "iidfile", "", "Write the image ID to the file")
	return cmd
}

func newPush() *cobra.Command {
	var quiet, allTags bool
	cmd := engineVerb("push [OPTIONS] NAME[:TAG]", "Upload an image to a registry", exactArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		refs := args
		if allTags {
			var err error
			if refs, err = localTags(cmd.Context(), cli, args[0]); err != nil {
				return err
			}
		}
		for _, ref := range refs {
			r, err := printProgress(image.Push(cmd.Context(), cli, ref, image.PushOptions{Auth: registryAuthFor(ref)}), quiet)
			if err != nil {
				return err
			}
			if r.Digest != "" {
				fmt.Fprintf(stdout(), "%s: digest: %s\n", ref, r.Digest)
			}
		}
		return nil
	})
	cmd.Flags().BoolVarP(&allTags, "all-tags", "a", false, "Push all tags of an image to the repository")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress verbose output")
	return cmd
}

// localTags are the references of this engine's images in the repository of ref (which names
// no tag), as `docker push --all-tags` pushes them.
func localTags(ctx context.Context, cli *client.Client, ref string) ([]string, error) {
	named, err := image.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(strings.TrimPrefix(ref, reference.Domain(named)), ":@") {
		return nil, berth.Invalid("push/all-tags", "%q names a tag or digest; --all-tags takes a repository", ref)
	}
	list, err := image.List(ctx, cli, image.ListOptions{Filters: client.Filters{}.Add("reference", ref)})
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, img := range list {
		refs = append(refs, img.RepoTags...)
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("no tag of %s on this engine: %w", ref, cerrdefs.ErrNotFound)
	}
	slices.Sort(refs)
	return refs, nil
}

func newPull() *cobra.Command {
	var platform string
	var quiet, allTags bool
	cmd := engineVerb("pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", exactArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		_, err := printProgress(image.Pull(cmd.Context(), cli, args[0], image.PullOptions{Platform: platform, Auth: registryAuthFor(args[0]), AllTags: allTags}), quiet)
		return err
	})
	cmd.Flags().StringVar(&platform, "platform", "", "Set platform if server is multi-platform capable")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress verbose output")
	cmd.Flags().BoolVarP(&allTags, "all-tags", "a", false, "Download all tagged images in the repository")
	return cmd
}

func newTag() *cobra.Command {
	return engineVerb("tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", exactArgs(2), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		return image.Tag(cmd.Context(), cli, args[0], args[1])
	})
}

func newImageRm() *cobra.Command {
	var force, noPrune bool
	cmd := engineVerb("rm [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", minArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		var errs []error
		for _, ref := range args {
			if err := image.Remove(cmd.Context(), cli, ref, image.RemoveOptions{Force: force, NoPrune: noPrune}); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintln(stdout(), "Untagged:", ref)
		}
		return errors.Join(errs...)
	})
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force removal of the image")
	cmd.Flags().BoolVar(&noPrune, "no-prune", false, "Do not delete untagged parents")
	cmd.Aliases = []string{"remove"}
	return cmd
}

func newImageImport() *cobra.Command {
	var changes []string
	var msg, platform string
	cmd := newVerb("import [OPTIONS] file|- REPOSITORY[:TAG]", "Import the contents from a tarball to create a filesystem image", exactArgs(2), func(cmd *cobra.Command, args []string) error {
		in, err := openInput(args[0])
		if err != nil {
			return err
		}
		defer in.Close()
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		id, err := image.Import(cmd.Context(), cli, in, args[1], image.ImportOptions{Changes: changes, Message: msg, Platform: platform})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout(), id)
		return nil
	})
	f := cmd.Flags()
	f.VarP((*stringList)(&changes), "change", "c", "Apply Dockerfile instruction to the created image")
	f.StringVarP(&msg, "message", "m", "", "Set commit message for imported image")
	f.StringVar(&platform, "platform", "", "Set platform if server is multi-platform capable")
	return cmd
}

func newImageSave() *cobra.Command {
	var out string
	cmd := newVerb("save [OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive", minArgs(1), func(cmd *cobra.Command, args []string) error {
		if out == "" {
			return errors.New("berth writes no archive to a terminal: give -o FILE")
		}
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		if err := image.Save(cmd.Context(), cli, f, args...); err != nil {
			f.Close()
			os.Remove(out)
			return err
		}
		return f.Close()
	})
	cmd.Flags().StringVarP(&out, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

func newImageLoad() *cobra.Command {
	var in string
	var quiet bool
	cmd := newVerb("load [OPTIONS]", "Load an image from a tar archive or STDIN", noArgs, func(cmd *cobra.Command, _ []string) error {
		r, err := openInput(in)
		if err != nil {
			return err
		}
		defer r.Close()
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		loaded, err := image.Load(cmd.Context(), cli, r)
		for _, ref := range loaded {
			if !quiet {
				fmt.Fprintln(stdout(), "Loaded image:", ref)
			}
		}
		return err
	})
	cmd.Flags().StringVarP(&in, "input", "i", "-", "Read from tar archive file, instead of STDIN")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress the load output")
	return cmd
}

type imageRow struct {
	Repository   string
	Tag          string
	ID           string `header:"IMAGE ID"`
	Digest       string
	CreatedSince string `header:"CREATED"`
	CreatedAt    string
	Size         string
	Containers   string
}

func newImageLs() *cobra.Command {
	var o listOptions
	var all, digests bool
	cmd := newVerb("ls [OPTIONS] [REPOSITORY[:TAG]]", "List images", rangeArgs(0, 1), func(cmd *cobra.Command, args []string) error {
		f, err := o.filterArgs("before", "dangling", "label", "reference", "since")
		if err != nil {
			return err
		}
		if len(args) == 1 {
			f.Add("reference", args[0])
		}
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		list, err := image.List(cmd.Context(), cli, image.ListOptions{All: all, Filters: f})
		if err != nil {
			return err
		}
		var rows []imageRow
		for _, img := range list {
			id := strings.TrimPrefix(img.ID, "sha256:")
			if o.noTrunc {
				id = img.ID
			} else {
				id = shortID(id)
			}
			created := time.Unix(img.Created, 0)
			base := imageRow{ID: id, CreatedSince: units.HumanDuration(time.Since(created)) + " ago", CreatedAt: created.String(),
				Size: units.HumanSizeWithPrecision(float64(img.Size), 3), Containers: fmt.Sprint(img.Containers), Digest: "<none>"}
			if len(img.RepoDigests) > 0 {
				_, base.Digest, _ = strings.Cut(img.RepoDigests[0], "@")
			}
			if len(img.RepoTags) == 0 {
				r := base
				r.Repository, r.Tag = "<none>", "<none>"
				rows = append(rows, r)
			}
			for _, t := range img.RepoTags {
				r := base
				i := strings.LastIndex(t, ":")
				r.Repository, r.Tag = t[:i], t[i+1:]
				rows = append(rows, r)
			}
		}
		table := "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
		if digests {
			table = "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
		}
		return printRows(stdout(), o, table, rows, func(r imageRow) string { return r.ID })
	})
	addListFlags(cmd, &o, "image IDs", "before, dangling, label, reference, since", true)
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Show all images (default hides intermediate images)")
	cmd.Flags().BoolVar(&digests, "digests", false, "Show digests")
	cmd.Aliases = []string{"list"}
	return cmd
}

type historyRow struct {
	ID           string `header:"IMAGE"`
	CreatedSince string `header:"CREATED"`
	CreatedAt    string
	CreatedBy    string
	Size         string
	Comment      string
}

func newImageHistory() *cobra.Command {
	var o listOptions
	var human bool
	cmd := engineVerb("history [OPTIONS] IMAGE", "Show the history of an image", exactArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		items, err := image.History(cmd.Context(), cli, args[0])
		if err != nil {
			return err
		}
		var rows []historyRow
		for _, h := range items {
			id := h.ID
			if !o.noTrunc {
				id = shortID(strings.TrimPrefix(id, "sha256:"))
			}
			by := h.CreatedBy
			if !o.noTrunc && len(by) > 45 {
				by = by[:44] + "…"
			}
			created := time.Unix(h.Created, 0)
			r := historyRow{ID: id, CreatedSince: units.HumanDuration(time.Since(created)) + " ago", CreatedAt: created.Format(time.RFC3339),
				CreatedBy: by, Size: units.HumanSizeWithPrecision(float64(h.Size), 3), Comment: h.Comment}
			if !human {
				r.Size = fmt.Sprint(h.Size)
				r.CreatedSince = r.CreatedAt
			}
			rows = append(rows, r)
		}
		return printRows(stdout(), o, "{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", rows, func(r historyRow) string { return r.ID })
	})
	addListFlags(cmd, &o, "image IDs", "", true)
	cmd.Flags().BoolVarP(&human, "human", "H", true, "Print sizes and dates in human readable format")
	return cmd
}

func newImagePrune() *cobra.Command {
	var all, force bool
	var filters stringList
	cmd := newVerb("prune [OPTIONS]", "Remove unused images", noArgs, func(cmd *cobra.Command, _ []string) error {
		f, err := listOptions{filters: filters}.filterArgs("label", "label!", "until")
		if err != nil {
			return err
		}
		if !force {
			what := "all dangling images"
			if all {
				what = "all images without at least one container associated to them"
			}
			if !confirm(fmt.Sprintf("WARNING! This will remove %s.\nAre you sure you want to continue?", what)) {
				return errors.New("image prune has been cancelled")
			}
		}
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		rep, err := image.Prune(cmd.Context(), cli, image.PruneOptions{All: all, Filters: f})
		if err != nil {
			return err
		}
		if len(rep.ImagesDeleted) > 0 {
			fmt.Fprintln(stdout(), "Deleted Images:")
			for _, d := range rep.ImagesDeleted {
				if d.Untagged != "" {
					fmt.Fprintln(stdout(), "untagged:", d.Untagged)
				}
				if d.Deleted != "" {
					fmt.Fprintln(stdout(), "deleted:", d.Deleted)
				}
			}
			fmt.Fprintln(stdout())
		}
		fmt.Fprintf(stdout(), "Total reclaimed space: %s\n", units.HumanSize(float64(rep.SpaceReclaimed)))
		return nil
	})
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused images, not just dangling ones")
	cmd.Flags().Var(&filters, "filter", `Provide filter values (e.g. "until=<timestamp>")`)
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

func newImageInspect() *cobra.Command {
	return inspectVerb("inspect [OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images",
		func(ctx context.Context, cli *client.Client, ref string) (image.Info, error) {
			return image.Inspect(ctx, cli, ref)
		}, nil)
}
