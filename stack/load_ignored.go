package stack

import (
	"github.com/compose-spec/compose-go/v2/types"
)

// ignoredField is a Compose service field that `docker stack deploy` does not send to swarm.
type ignoredField struct {
	name string
	set  func(c *types.ServiceConfig) bool
}

var ignoredFields = []ignoredField{
	{"annotations", func(c *types.ServiceConfig) bool { return len(c.Annotations) > 0 }},
	{"blkio_config", func(c *types.ServiceConfig) bool { return c.BlkioConfig != nil }},
	{"build", func(c *types.ServiceConfig) bool { return c.Build != nil }},
	{"cgroup", func(c *types.ServiceConfig) bool { return c.Cgroup != "" }},
	{"cgroup_parent", func(c *types.ServiceConfig) bool { return c.CgroupParent != "" }},
	{"container_name", func(c *types.ServiceConfig) bool { return c.ContainerName != "" }},
	{"cpu_count, cpu_percent, cpu_period, cpu_quota, cpu_rt_period, cpu_rt_runtime, cpu_shares, cpus, cpuset", func(c *types.ServiceConfig) bool {
		return c.CPUCount != 0 || c.CPUPercent != 0 || c.CPUPeriod != 0 || c.CPUQuota != 0 || c.CPURTPeriod != 0 || c.CPURTRuntime != 0 || c.CPUS != 0 || c.CPUSet != "" || c.CPUShares != 0
	}},
	{"depends_on", func(c *types.ServiceConfig) bool { return len(c.DependsOn) > 0 }},
	{"develop", func(c *types.ServiceConfig) bool { return c.Develop != nil }},
	{"device_cgroup_rules", func(c *types.ServiceConfig) bool { return len(c.DeviceCgroupRules) > 0 }},
	{"devices", func(c *types.ServiceConfig) bool { return len(c.Devices) > 0 }},
	{"dns_opt", func(c *types.ServiceConfig) bool { return len(c.DNSOpts) > 0 }},
	{"domainname", func(c *types.ServiceConfig) bool { return c.DomainName != "" }},
	{"expose", func(c *types.ServiceConfig) bool { return len(c.Expose) > 0 }},
	{"external_links", func(c *types.ServiceConfig) bool { return len(c.ExternalLinks) > 0 }},
	{"gpus", func(c *types.ServiceConfig) bool { return len(c.Gpus) > 0 }},
	{"group_add", func(c *types.ServiceConfig) bool { return len(c.GroupAdd) > 0 }},
	{"ipc", func(c *types.ServiceConfig) bool { return c.Ipc != "" }},
	{"links", func(c *types.ServiceConfig) bool { return len(c.Links) > 0 }},
	{"log_driver, log_opt", func(c *types.ServiceConfig) bool { return c.LogDriver != "" || len(c.LogOpt) > 0 }},
	{"mac_address", func(c *types.ServiceConfig) bool { return c.MacAddress != "" }},
	{"mem_limit, mem_reservation, memswap_limit, mem_swappiness", func(c *types.ServiceConfig) bool {
		return c.MemLimit != 0 || c.MemReservation != 0 || c.MemSwapLimit != 0 || c.MemSwappiness != 0
	}},
	{"network_mode", func(c *types.ServiceConfig) bool { return c.NetworkMode != "" }},
	{"oom_kill_disable", func(c *types.ServiceConfig) bool { return c.OomKillDisable }},
	{"pid", func(c *types.ServiceConfig) bool { return c.Pid != "" }},
	{"pids_limit", func(c *types.ServiceConfig) bool { return c.PidsLimit != 0 }},
	{"platform", func(c *types.ServiceConfig) bool { return c.Platform != "" }},
	{"post_start, pre_stop, pre_start", func(c *types.ServiceConfig) bool {
		return len(c.PostStart) > 0 || len(c.PreStop) > 0 || len(c.PreStart) > 0
	}},
	{"privileged", func(c *types.ServiceConfig) bool { return c.Privileged }},
	{"profiles", func(c *types.ServiceConfig) bool { return len(c.Profiles) > 0 }},
	{"pull_policy", func(c *types.ServiceConfig) bool { return c.PullPolicy != "" }},
	{"runtime", func(c *types.ServiceConfig) bool { return c.Runtime != "" }},
	{"scale", func(c *types.ServiceConfig) bool { return c.Scale != nil }},
	{"security_opt", func(c *types.ServiceConfig) bool { return len(c.SecurityOpt) > 0 }},
	{"shm_size", func(c *types.ServiceConfig) bool { return c.ShmSize != 0 }},
	{"storage_opt", func(c *types.ServiceConfig) bool { return len(c.StorageOpt) > 0 }},
	{"tmpfs", func(c *types.ServiceConfig) bool { return len(c.Tmpfs) > 0 }},
	{"userns_mode", func(c *types.ServiceConfig) bool { return c.UserNSMode != "" }},
	{"uts", func(c *types.ServiceConfig) bool { return c.Uts != "" }},
	{"volume_driver", func(c *types.ServiceConfig) bool { return c.VolumeDriver != "" }},
	{"volumes_from", func(c *types.ServiceConfig) bool { return len(c.VolumesFrom) > 0 }},
}

// warnIgnored records a warning for each Compose field of c that `docker stack deploy`
// ignores.
func (l *projectLoader) warnIgnored(base string, c types.ServiceConfig) {
	for _, f := range ignoredFields {
		if f.set(&c) {
			l.st.Warn(base, "%s: ignored by docker stack deploy", f.name)
		}
	}
}
