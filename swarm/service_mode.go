package swarm

import swarmapi "github.com/moby/moby/api/types/swarm"

// ModeOf names the mode of a service spec: ModeReplicated (also for an empty mode, as the
// engine defaults to it), ModeGlobal, ModeReplicatedJob or ModeGlobalJob.
func ModeOf(m swarmapi.ServiceMode) string {
	switch {
	case m.Global != nil:
		return ModeGlobal
	case m.ReplicatedJob != nil:
		return ModeReplicatedJob
	case m.GlobalJob != nil:
		return ModeGlobalJob
	}
	return ModeReplicated
}
