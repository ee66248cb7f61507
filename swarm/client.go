package swarm

import "github.com/moby/moby/client"

// ServiceClient is the part of an Engine API client that the service operations use: Create,
// Update, Replace, Rollback, Scale, Remove, Watch and Wait. *client.Client implements it.
type ServiceClient interface {
	client.ServiceAPIClient
	client.TaskAPIClient
}

var _ ServiceClient = (*client.Client)(nil)
