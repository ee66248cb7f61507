package container_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/container"
	ctypes "github.com/moby/moby/api/types/container"
)

// The chapter's `docker run -d --name mysql -e MYSQL_DATABASE=ch03 --volumes-from mysql-data
// --platform linux/amd64 -p 3306:3306 mariadb`, compiled without an engine.
func ExampleNew() {
	spec, err := container.New("mariadb:10.11").Name("mysql").
		Env("MYSQL_ALLOW_EMPTY_PASSWORD", "yes").Env("MYSQL_DATABASE", "ch03").
		VolumesFrom("mysql-data", false).Platform("linux/amd64").Publish("3306:3306").
		Compile()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(spec.Name, spec.Config.Image, spec.Config.Env)
	for port, b := range spec.HostConfig.PortBindings {
		fmt.Println(spec.HostConfig.VolumesFrom, spec.Platform.Architecture, port, "on host port", b[0].HostPort)
	}
	// Output:
	// mysql mariadb:10.11 [MYSQL_ALLOW_EMPTY_PASSWORD=yes MYSQL_DATABASE=ch03]
	// [mysql-data:rw] amd64 3306/tcp on host port 3306
}

// Every problem of a description comes at once, before any request.
func ExampleContainer_Compile() {
	_, err := container.New("busybox").Name("-x").Restart("sometimes").Publish("80:90:100:1").Compile()
	for _, ve := range berth.ValidationErrors(err) {
		fmt.Println(ve.Path)
	}
	// Output:
	// name
	// publish[0]
	// restart
}

func ExampleParsePublish() {
	ports, _ := container.ParsePublish("127.0.0.1:8080:80")
	fmt.Println(ports)
	// Output: map[80/tcp:[{127.0.0.1 8080}]]
}

func ExampleParseEnvFile() {
	vars, _ := container.ParseEnvFile([]byte("# db\nMYSQL_USER=gngsn\nMYSQL_PASSWORD=\"kept as is\"\n"), os.LookupEnv)
	fmt.Println(strings.Join(vars, "\n"))
	// Output:
	// MYSQL_USER=gngsn
	// MYSQL_PASSWORD="kept as is"
}

// `docker run --rm busybox sh -c 'exit 3'`: Run waits for the exit and returns the code.
func ExampleRun() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	res, err := container.Run(ctx, cli, container.New("busybox").Command("sh", "-c", "exit 3"), container.RunOptions{Wait: container.WaitExit})
	if err != nil {
		log.Fatal(err)
	}
	defer container.Remove(ctx, cli, res.ID, container.RemoveOptions{Volumes: true})
	fmt.Println("exit code", res.ExitCode)
}

// `docker run busybox sh -c '...'` in the foreground: Output gets each line as the container
// writes it, while Run waits for the exit.
func ExampleRun_output() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	c := container.New("busybox").Command("sh", "-c", "echo starting; sleep 1; echo done >&2")
	res, err := container.Run(ctx, cli, c, container.RunOptions{Wait: container.WaitExit, Output: func(l container.Line) {
		fmt.Printf("%s: %s\n", l.Stream, l.Text)
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer container.Remove(ctx, cli, res.ID, container.RemoveOptions{Volumes: true})
}

// A database started with a health check is usable once Run returns.
func ExampleRun_healthy() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	db := container.New("mariadb").Name("mysql").Env("MYSQL_ALLOW_EMPTY_PASSWORD", "yes").
		Healthcheck(ctypes.HealthConfig{Test: []string{"CMD", "mariadb-admin", "ping", "-h", "localhost"}, Interval: time.Second, Retries: 60})
	if _, err := container.Run(ctx, cli, db, container.RunOptions{Wait: container.WaitHealthy}); err != nil {
		log.Fatal(err)
	}
}

// `docker exec mysql mariadb -e 'SELECT 1'`.
func ExampleExec() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	res, err := container.Exec(ctx, cli, "mysql", []string{"mariadb", "-e", "SELECT 1"}, container.ExecOptions{})
	if err == nil {
		err = res.Err() // a non-zero exit code, with the end of stderr
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(res.Stdout))
}

// The chapter's `docker exec cron tail -f /var/log/cron.log`, line by line.
func ExampleExecStream() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for line, err := range container.ExecStream(ctx, cli, "cron", []string{"tail", "-f", "/var/log/cron.log"}, container.ExecOptions{}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(line.Text)
	}
}

// `docker logs -f --tail 10 mysql`.
func ExampleLogs() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for line, err := range container.Logs(ctx, cli, "mysql", container.LogsOptions{Follow: true, Tail: 10}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(line.Time.Format(time.TimeOnly), line.Stream, line.Text)
	}
}

// `docker stop -t 30 mysql`, `docker start mysql`, `docker restart mysql`, `docker wait`.
func ExampleStop() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	grace := 30 * time.Second
	if err := container.Stop(ctx, cli, "mysql", container.StopOptions{Timeout: &grace}); err != nil {
		log.Fatal(err)
	}
	code, _ := container.Wait(ctx, cli, "mysql")
	fmt.Println("stopped with", code)
	if err := container.Start(ctx, cli, "mysql"); err != nil {
		log.Fatal(err)
	}
	if err := container.Restart(ctx, cli, "mysql", container.StopOptions{}); err != nil {
		log.Fatal(err)
	}
}

// `docker ps -a --filter label=app=ch03`, then `docker rm -f -v` each.
func ExampleList() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	list, err := container.List(ctx, cli, container.ListOptions{All: true, Labels: []string{"app=ch03"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range list {
		info, _ := container.Inspect(ctx, cli, c.ID)
		fmt.Println(info.Name, info.State.Status)
		container.Remove(ctx, cli, c.ID, container.RemoveOptions{Force: true, Volumes: true})
	}
}

// `docker cp`: write a file into a container and read it back.
func ExampleWriteFile() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := container.WriteFile(ctx, cli, "mysql", "/etc/mysql/conf.d/ch03.cnf", []byte("[mysqld]\nmax_connections=50\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	data, err := container.ReadFile(ctx, cli, "mysql", "/etc/mysql/conf.d/ch03.cnf")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(data))
}

// A `run` verb's flags, collected by a CLI, become the builder: `docker run -d --name mysql
// -e MYSQL_ALLOW_EMPTY_PASSWORD=yes --volumes-from mysql-data -p 3306:3306 mariadb`.
func ExampleRunFlags() {
	f := container.RunFlags{Name: "mysql", Detach: true, Env: []string{"MYSQL_ALLOW_EMPTY_PASSWORD=yes"},
		VolumesFrom: []string{"mysql-data"}, Publish: []string{"3306:3306"}, Volumes: []string{"/var/log/mysql"}}
	spec, err := f.Container("mariadb").Compile()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(spec.Name, spec.Config.Env, spec.HostConfig.VolumesFrom, spec.HostConfig.Mounts[0].Target, f.RunOptions().Wait == container.WaitNone)
	// Output: mysql [MYSQL_ALLOW_EMPTY_PASSWORD=yes] [mysql-data:rw] /var/log/mysql true
}

// The chapter's data-volume container, `docker create -v /var/lib/mysql --name mysql-data
// busybox`: created, never started.
func ExampleCreate() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	res, err := container.Create(ctx, cli, container.New("busybox").Name("mysql-data").Volume("", "/var/lib/mysql", false))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created", res.ID[:12], res.Warnings)
}

// `docker cp mysql:/etc/mysql - | tar t` and back: CopyFrom streams a tar of the path,
// CopyTo extracts one into a directory.
// `docker cp mysql:/etc/mysql ./backup` and `docker cp ./my.cnf mysql:/etc/mysql/conf.d/`.
func ExampleCopyToHost() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := container.CopyToHost(ctx, cli, "mysql", "/etc/mysql", "./backup", container.CopyOptions{}); err != nil {
		log.Fatal(err)
	}
	if err := container.CopyFromHost(ctx, cli, "./my.cnf", "mysql", "/etc/mysql/conf.d/", container.CopyOptions{}); err != nil {
		log.Fatal(err)
	}
}

func ExampleCopyFrom() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	rc, stat, err := container.CopyFrom(ctx, cli, "mysql", "/etc/mysql")
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	fmt.Println(stat.Name, stat.Mode)
	var saved bytes.Buffer
	tr := tar.NewReader(io.TeeReader(rc, &saved))
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		fmt.Println(h.Name)
	}
	io.Copy(io.Discard, io.TeeReader(rc, &saved))
	if err := container.CopyTo(ctx, cli, "mysql2", "/etc", &saved); err != nil {
		log.Fatal(err)
	}
}
