package dind

import (
	"cmp"
	"fmt"
	"regexp"
	"time"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
)

// LabelLab is the label every container, network and volume of a lab carries, with the lab's
// name as value. Remove finds what to delete by it.
const LabelLab = berth.LabelPrefix + "lab"

// LabelRole says what a lab container is: manager, worker or registry.
const LabelRole = berth.LabelPrefix + "lab.role"

// DefaultName is the lab name when Options.Name is empty.
const DefaultName = "berth-lab"

// The images a lab uses when Options leaves them empty. Neither is ever pulled: they must be on
// the engine.
const (
	DefaultImage         = "docker:dind"
	DefaultRegistryImage = "registry:2"
)

// RegistryAlias is the registry's name on the lab network; nodes reach it as
// RegistryAlias:5000 and trust it as an insecure registry.
const RegistryAlias = "registry"

// Security says how node containers get the rights dockerd needs.
type Security string

const (
	// SecurityAuto tries a privileged container first and falls back to SecurityCapabilities
	// when the engine refuses it (Cluster.Privileged and Cluster.Warnings say so).
	SecurityAuto Security = ""
	// SecurityPrivileged runs nodes as privileged containers and fails where that is refused.
	SecurityPrivileged Security = "privileged"
	// SecurityCapabilities runs nodes unprivileged with an explicit set: every capability but
	// SYS_RESOURCE, seccomp and AppArmor unconfined, every device allowed by the device cgroup
	// and the host's /sys/fs/cgroup mounted read-write. It works where the engine's own
	// capability bounding set lacks a capability, so privileged containers fail to start.
	SecurityCapabilities Security = "capabilities"
)

// Options configures Start. The zero value starts a lab named DefaultName with a manager and
// no worker, from the default images.
type Options struct {
	// Name prefixes every container, network and volume, and is the value of LabelLab:
	// lower-case letters, digits and '-', starting with a letter or digit, at most 48.
	Name string
	// Workers is the number of worker nodes, 0 to 20.
	Workers int
	// Image is the Docker-in-Docker image of the nodes; DefaultImage (docker:dind) when empty.
	// It is never pulled: it must be on the engine. Its entrypoint must run dockerd with the
	// arguments it is given and listen on tcp://0.0.0.0:2375 without TLS (docker:dind does,
	// given DOCKER_TLS_CERTDIR="").
	Image string
	// RegistryImage is the registry image; DefaultRegistryImage (registry:2) when empty. It is
	// never pulled either.
	RegistryImage string
	// Push lists images of the host engine to push into the lab registry once it is up;
	// Cluster.Images maps each to its in-cluster reference.
	Push []string
	// DaemonArgs are extra dockerd flags for every node.
	DaemonArgs []string
	// Security chooses privileged or capability-based node containers; see SecurityAuto.
	Security Security
	// ReadyTimeout bounds the wait for each dockerd and the registry to answer; 0 means 60s.
	ReadyTimeout time.Duration
	// Publish lists node ports to publish on 127.0.0.1 of the host (see Publish). A fixed
	// host port that is in use fails Start before anything is created.
	Publish []Publish
	// Swarm configures the lab's swarm (default address pool, data path port, raft and
	// dispatcher settings, ...). Its AdvertiseAddr and ListenAddr are ignored: the manager
	// advertises its address on the lab network.
	Swarm swarm.InitOptions
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,47}$`)

// MaxWorkers is the most workers Start accepts.
const MaxWorkers = 20

// Validate reports every invalid field of o as *berth.ValidationError values.
func (o Options) Validate() error {
	var p berth.Problems
	if o.Name != "" && !nameRE.MatchString(o.Name) {
		p.Add("lab/name", "%q is not a lab name: use 1 to 48 lower-case letters, digits and '-', starting with a letter or digit", o.Name)
	}
	if o.Workers < 0 || o.Workers > MaxWorkers {
		p.Add("lab/workers", "%d is out of range: use 0 to %d", o.Workers, MaxWorkers)
	}
	switch o.Security {
	case SecurityAuto, SecurityPrivileged, SecurityCapabilities:
	default:
		p.Add("lab/security", "%q is not a security mode: use \"\" (auto), privileged or capabilities", o.Security)
	}
	if o.ReadyTimeout < 0 {
		p.Add("lab/ready_timeout", "%s is negative: use 0 for the default 60s", o.ReadyTimeout)
	}
	p.AddErr("lab/swarm", o.Swarm.Validate())
	validatePublish(&p, o)
	for i, img := range o.Push {
		if _, _, err := splitRef(img); err != nil {
			p.Add(fmt.Sprintf("lab/push[%d]", i), "%q is not an image reference: %v", img, err)
		}
	}
	return p.Err()
}

// withDefaults fills in the name, the images and the timeout.
func (o Options) withDefaults() Options {
	o.Name = cmp.Or(o.Name, DefaultName)
	o.ReadyTimeout = cmp.Or(o.ReadyTimeout, 60*time.Second)
	o.Image = cmp.Or(o.Image, DefaultImage)
	o.RegistryImage = cmp.Or(o.RegistryImage, DefaultRegistryImage)
	return o
}
