package ingress_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/ingress"
)

func TestParseService(t *testing.T) {
	def := ingress.Health{Interval: ingress.DefaultHealthInterval}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		env    []string
		want   []ingress.Route
	}{
		{"none", map[string]string{"com.docker.stack.namespace": "echo"}, []string{"A=1"}, nil},
		{"disabled", map[string]string{ingress.LabelEnable: "false", ingress.LabelPort: "80"}, nil, nil},
		{"port only", map[string]string{ingress.LabelPort: "8080"}, nil, []ingress.Route{
			{Name: "web", Service: "web", PathPrefix: "/", Port: 8080, Balance: ingress.RoundRobin, Health: def}}},
		{"all simple labels", map[string]string{
			ingress.LabelHost: "Example.com, *.example.org", ingress.LabelPath: "/api/", ingress.LabelPort: "80",
			ingress.LabelBalance: "leastconn", ingress.LabelHealthPath: "/healthz", ingress.LabelHealthInterval: "500ms",
		}, nil, []ingress.Route{{Name: "web", Service: "web", Hosts: []string{"example.com", "*.example.org"}, PathPrefix: "/api",
			Port: 80, Balance: ingress.LeastConn, Health: ingress.Health{Path: "/healthz", Interval: 500 * time.Millisecond}}}},
		{"dockercloud env", nil, []string{"SERVICE_PORTS=80", "VIRTUAL_HOST=http://a.example.com/app*, b.example.com/app"}, []ingress.Route{
			{Name: "web", Service: "web", Hosts: []string{"a.example.com", "b.example.com"}, PathPrefix: "/app", Port: 80, Balance: ingress.RoundRobin, Health: def}}},
		{"label port wins over SERVICE_PORTS", map[string]string{ingress.LabelPort: "81"}, []string{"SERVICE_PORTS=80,443"}, []ingress.Route{
			{Name: "web", Service: "web", PathPrefix: "/", Port: 81, Balance: ingress.RoundRobin, Health: def}}},
		{"routers", map[string]string{
			ingress.LabelPort:                   "80",
			ingress.LabelRouters + "api.rule":   "Host(`api.example.com`) && PathPrefix(`/v1`)",
			ingress.LabelRouters + "admin.rule": `PathPrefix("/admin")`,
			ingress.LabelRouters + "admin.port": "9000",
		}, nil, []ingress.Route{
			{Name: "web/admin", Service: "web", PathPrefix: "/admin", Port: 9000, Balance: ingress.RoundRobin, Health: def},
			{Name: "web/api", Service: "web", Hosts: []string{"api.example.com"}, PathPrefix: "/v1", Port: 80, Balance: ingress.RoundRobin, Health: def},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ingress.ParseService("web", tc.labels, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("routes (-want +got):\n%s", d)
			}
		})
	}
}

// Every bad label is a validation error at its own path that names the value and what is
// accepted; the service's good routers are still returned.
func TestParseServiceErrors(t *testing.T) {
	r := ingress.LabelRouters
	for _, tc := range []struct {
		labels   map[string]string
		env      []string
		path     string
		mentions []string
	}{
		{map[string]string{ingress.LabelEnable: "yes"}, nil, ingress.LabelEnable, []string{`"yes"`, "true or false"}},
		{map[string]string{ingress.LabelPort: "http"}, nil, ingress.LabelPort, []string{`"http"`, "1 to 65535"}},
		{map[string]string{ingress.LabelPort: "0"}, nil, ingress.LabelPort, []string{`"0"`, "1 to 65535"}},
		{map[string]string{ingress.LabelPort: "70000"}, nil, ingress.LabelPort, []string{`"70000"`}},
		{map[string]string{ingress.LabelHost: "a..b"}, []string{"SERVICE_PORTS=80"}, ingress.LabelHost, []string{`"a..b"`, "DNS name"}},
		{map[string]string{ingress.LabelHost: "exa mple.com"}, []string{"SERVICE_PORTS=80"}, ingress.LabelHost, []string{"not a host name"}},
		{map[string]string{ingress.LabelPath: "api"}, []string{"SERVICE_PORTS=80"}, ingress.LabelPath, []string{`"api"`, "starts with /"}},
		{map[string]string{ingress.LabelBalance: "random", ingress.LabelPort: "80"}, nil, ingress.LabelBalance, []string{`"random"`, "roundrobin or leastconn"}},
		{map[string]string{ingress.LabelHealthPath: "health", ingress.LabelPort: "80"}, nil, ingress.LabelHealthPath, []string{`"health"`}},
		{map[string]string{ingress.LabelHealthInterval: "2", ingress.LabelPort: "80"}, nil, ingress.LabelHealthInterval, []string{`"2"`, "100ms to 1h"}},
		{map[string]string{ingress.LabelHealthInterval: "1ms", ingress.LabelPort: "80"}, nil, ingress.LabelHealthInterval, []string{`"1ms"`}},
		{map[string]string{ingress.LabelPrefix + "hosts": "a.com", ingress.LabelPort: "80"}, nil, ingress.LabelPrefix + "hosts", []string{"unknown label", ingress.LabelHost}},
		{map[string]string{ingress.LabelHost: "a.com"}, nil, ingress.LabelPort, []string{"no backend port", "SERVICE_PORTS"}},
		{map[string]string{r + "a.rule": "Host(`a.com`)"}, nil, r + "a.port", []string{"no backend port"}},
		{map[string]string{r + "a.port": "80"}, nil, r + "a.rule", []string{"missing", "Host(`example.com`)"}},
		{map[string]string{r + "a.rule": "Host(`a.com`) || Host(`b.com`)", ingress.LabelPort: "80"}, nil, r + "a.rule", []string{"&&", "|| and ! are not supported"}},
		{map[string]string{r + "a.rule": "Path(`/x`)", ingress.LabelPort: "80"}, nil, r + "a.rule", []string{`"Path"`, "Host or PathPrefix"}},
		{map[string]string{r + "a.rule": "Host(a.com)", ingress.LabelPort: "80"}, nil, r + "a.rule", []string{"not quoted"}},
		{map[string]string{r + "a.rule": "Host(`a.com`", ingress.LabelPort: "80"}, nil, r + "a.rule", []string{"not closed"}},
		{map[string]string{r + "a.rule": "Host(`a.com)", ingress.LabelPort: "80"}, nil, r + "a.rule", []string{"unterminated quote"}},
		{map[string]string{r + "a.rule": "Host(`a.com`) && Host(`b.com`)", ingress.LabelPort: "80"}, nil, r + "a.rule", []string{"Host given twice"}},
		{map[string]string{r + "a.rule": "PathPrefix(`/a`, `/b`)", ingress.LabelPort: "80"}, nil, r + "a.rule", []string{"one path, got 2"}},
		{map[string]string{r + "a.rule": "", ingress.LabelPort: "80"}, nil, r + "a.rule", []string{"empty rule"}},
		{map[string]string{r + "a.rule": "Host(`a.com`)", r + "a.tls": "true", ingress.LabelPort: "80"}, nil, r + "a.tls", []string{"unknown router label"}},
		{map[string]string{r + "a b.rule": "Host(`a.com`)", ingress.LabelPort: "80"}, nil, r + "a b.rule", []string{"router name"}},
		{map[string]string{r + "a.rule": "Host(`a.com`)", r + "a.port": "x"}, nil, r + "a.port", []string{`"x"`}},
		{nil, []string{"SERVICE_PORTS=eighty"}, "", []string{"env/SERVICE_PORTS", `"eighty"`}},
		{nil, []string{"SERVICE_PORTS=80", "VIRTUAL_HOST=https://a.com"}, "", []string{"env/VIRTUAL_HOST", "scheme https"}},
		{nil, []string{"SERVICE_PORTS=80", "VIRTUAL_HOST=a.com/x, b.com/y"}, "", []string{"env/VIRTUAL_HOST", "paths /x and /y differ"}},
		{nil, []string{"SERVICE_PORTS=80", "VIRTUAL_HOST=a.com:99999"}, "", []string{"env/VIRTUAL_HOST", `"99999"`}},
	} {
		name := fmt.Sprint(tc.labels, tc.env)
		_, err := ingress.ParseService("web", tc.labels, tc.env)
		if !errors.Is(err, berth.ErrInvalid) {
			t.Errorf("%s: error %v; want one matching berth.ErrInvalid", name, err)
			continue
		}
		ves := berth.ValidationErrors(err)
		found := false
		for _, ve := range ves {
			if tc.path == "" || ve.Path == "service/web/labels/"+tc.path {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no error at service/web/labels/%s: %v", name, tc.path, err)
		}
		for _, m := range tc.mentions {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s: error %q does not mention %q", name, err, m)
			}
		}
	}
}

// A bad router does not take the service's good router down.
func TestParseServicePartial(t *testing.T) {
	routes, err := ingress.ParseService("web", map[string]string{
		ingress.LabelPort:                 "80",
		ingress.LabelRouters + "ok.rule":  "PathPrefix(`/ok`)",
		ingress.LabelRouters + "bad.rule": "Regexp(`.*`)",
	}, nil)
	if err == nil || len(routes) != 1 || routes[0].Name != "web/ok" {
		t.Errorf("routes %+v, err %v; want web/ok and an error for web/bad", routes, err)
	}
}

func ExampleParseRule() {
	r, err := ingress.ParseRule("Host(`shop.example.com`, `www.example.com`) && PathPrefix(`/cart/`)")
	fmt.Println(r.Hosts, r.PathPrefix, err)
	_, err = ingress.ParseRule("Host(`a.com`) || PathPrefix(`/b`)")
	fmt.Println(err)
	// Output:
	// [shop.example.com www.example.com] /cart <nil>
	// rule "Host(`a.com`) || PathPrefix(`/b`)": "|| PathPrefix(`/b`)" after a term: join terms with && (|| and ! are not supported)
}

func ExampleParseService() {
	routes, err := ingress.ParseService("echo_nginx", nil, []string{"SERVICE_PORTS=80", "VIRTUAL_HOST=echo.local"})
	fmt.Printf("%s %v %s :%d %v\n", routes[0].Name, routes[0].Hosts, routes[0].PathPrefix, routes[0].Port, err)
	_, err = ingress.ParseService("echo_api", map[string]string{"berth.ingress.port": "http"}, nil)
	fmt.Println(err)
	// Output:
	// echo_nginx [echo.local] / :80 <nil>
	// service/echo_api/labels/berth.ingress.port: "http" is not a port: use 1 to 65535
}
