package swarm

import (
	"context"
	"fmt"
	"time"

	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
)

// UnlockKey returns the key that unlocks a restarted manager of an autolocked swarm
// (`docker swarm unlock-key`); "" when autolock is off.
func UnlockKey(ctx context.Context, cli client.SwarmAPIClient) (string, error) {
	res, err := cli.SwarmGetUnlockKey(ctx)
	if err != nil {
		return "", fmt.Errorf("swarm unlock key: %w", err)
	}
	return res.Key, nil
}

// RotateUnlockKey replaces the unlock key and returns the new one.
func RotateUnlockKey(ctx context.Context, cli client.SwarmAPIClient) (string, error) {
	if err := UpdateCluster(ctx, cli, ClusterUpdate{RotateUnlockKey: true}); err != nil {
		return "", err
	}
	return UnlockKey(ctx, cli)
}

// Unlock unlocks a locked manager with its swarm's unlock key (`docker swarm unlock`).
func Unlock(ctx context.Context, cli client.SwarmAPIClient, key string) error {
	if key == "" {
		return berth.Invalid("swarm unlock/key", "empty; give the key `swarm unlock-key` showed")
	}
	if _, err := cli.SwarmUnlock(ctx, client.SwarmUnlockOptions{Key: key}); err != nil {
		return fmt.Errorf("swarm unlock: %w", err)
	}
	return nil
}

// ClusterUpdate is a change of the swarm's configuration (`docker swarm update` and
// `docker swarm ca --rotate`).
type ClusterUpdate struct {
	// Change edits the cluster spec read just before; nil changes nothing.
	Change func(*swarmtypes.Spec)
	// RotateUnlockKey makes a new unlock key.
	RotateUnlockKey bool
	// RotateCA makes the swarm issue a new root CA (and so new node certificates).
	RotateCA bool
}

// UpdateCluster applies u to the swarm, sending the version it read, so a concurrent change
// is an error rather than overwritten.
func UpdateCluster(ctx context.Context, cli client.SwarmAPIClient, u ClusterUpdate) error {
	sw, err := Inspect(ctx, cli)
	if err != nil {
		return err
	}
	spec := sw.Spec
	if u.Change != nil {
		u.Change(&spec)
	}
	if u.RotateCA {
		spec.CAConfig.ForceRotate++
	}
	_, err = cli.SwarmUpdate(ctx, client.SwarmUpdateOptions{Version: sw.Version, Spec: spec, RotateManagerUnlockKey: u.RotateUnlockKey})
	if err != nil {
		return fmt.Errorf("swarm update: %w", err)
	}
	return nil
}

// RootCA returns the swarm's root CA certificate (PEM), waiting up to timeout for a rotation
// in progress to finish when wait is set.
func RootCA(ctx context.Context, cli client.SwarmAPIClient, wait bool, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		sw, err := Inspect(ctx, cli)
		if err != nil {
			return "", err
		}
		if !wait || !sw.ClusterInfo.RootRotationInProgress {
			return sw.ClusterInfo.TLSInfo.TrustRoot, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("swarm ca: root rotation still in progress after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
