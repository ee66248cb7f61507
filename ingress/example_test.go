package ingress_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"

	"github.com/berthdev/berth/ingress"
)

// A Server routes by the snapshot it was given last; Run feeds it from the engine, here it is
// fed by hand with one task on loopback.
func ExampleServer() {
	task := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello Docker!! (%s %s)\n", r.Host, r.URL.Path)
	}))
	defer task.Close()
	port := uint16(task.Listener.Addr().(*net.TCPAddr).Port)

	s, _ := ingress.NewServer(ingress.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer s.Close()
	routes, _ := ingress.ParseService("echo", map[string]string{
		"berth.ingress.host": "echo.local",
		"berth.ingress.port": fmt.Sprint(port),
	}, nil)
	s.Update(ingress.Snapshot{Routes: routes, Endpoints: map[string][]ingress.Endpoint{
		"echo": {{Task: "t1", Name: "echo.1.t1", Addr: netip.MustParseAddr("127.0.0.1")}},
	}})

	front := httptest.NewServer(s)
	defer front.Close()
	for _, host := range []string{"echo.local", "other.local"} {
		req, _ := http.NewRequest(http.MethodGet, front.URL+"/hi", nil)
		req.Host = host
		// The task joins once its first health check passed; until then a request waits
		// for it (up to Options.RetryTimeout).
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s: %d %s", host, resp.StatusCode, body)
	}
	// Output:
	// echo.local: 200 Hello Docker!! (echo.local /hi)
	// other.local: 404 no route for other.local/hi
}

// Stack is the ingress as a stack, ready for stack.Deploy.
func ExampleStack() {
	spec, err := ingress.Stack(ingress.StackOptions{Image: "registry:5000/berth/ingress:1", Network: "web", Port: 8000}).Compile()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	svc := spec.Services[0].Spec
	fmt.Println(svc.Name, svc.TaskTemplate.Placement.Constraints, svc.TaskTemplate.ContainerSpec.Args)
	for _, p := range svc.EndpointSpec.Ports {
		fmt.Printf("%d->%d %s\n", p.PublishedPort, p.TargetPort, p.PublishMode)
	}
	// Output:
	// ingress_proxy [node.role == manager] [-network web -addr :80 -admin :8081]
	// 8000->80 host
	// 8081->8081 host
}
