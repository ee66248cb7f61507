#!/usr/bin/env python3
"""Prepares stack/testdata/conformance/corpus from public stack files (mirrored git repos).

Each file is rewritten so that the Docker CLI and berth can deploy it side by side, in
parallel with the other files, on one engine, without pulling anything:
  - every image points at an unreachable loopback registry (127.0.0.1:1/corpus/...);
  - published ports are moved into a range of their own per file (22000 + 100*n + k);
  - explicit and external names of networks, volumes, secrets and configs get the prefix
    bc-N- (the predefined networks host, bridge, none keep theirs);
  - variables without a default are replaced by fixed values (files must be self-contained);
  - files that configs and secrets read are copied next to it (N.files/...).
The result is YAML dumped from the parsed file (anchors and merge keys expanded, comments
gone); the header says where it came from. Run: python3 hack/corpus/prepare.py
"""
import os, re, subprocess, sys, yaml

MIRROR = "/work/.mirror"
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "stack", "testdata", "conformance", "corpus")

SOURCES = [
    ("docker/cli", "e2e/stack/testdata/full-stack.yml"),
    ("docker/cli", "e2e/stack/testdata/stack-with-named-resources.yml"),
    # not cli/compose/loader/full-example.yml: a loader test, the engine refuses its networks
    ("dockersamples/example-voting-app", "docker-stack.yml"),
    ("stefanprodan/swarmprom", "docker-compose.yml"),
    ("stefanprodan/swarmprom", "docker-compose.traefik.yml"),
    ("stefanprodan/swarmprom", "weave-compose.yml"),
    ("portainer/portainer-compose", "docker-stack.yml"),
    ("portainer/portainer-compose", "nginx-proxy/portainer-swarm.yml"),
    ("BretFisher/dogvscat", "stack-elk.yml"),
    ("BretFisher/dogvscat", "stack-ghost.yml"),
    ("BretFisher/dogvscat", "stack-menu.yml"),
    ("BretFisher/dogvscat", "stack-portainer.yml"),
    ("BretFisher/dogvscat", "stack-proxy-global.yml"),
    ("BretFisher/dogvscat", "stack-proxy.yml"),
    ("BretFisher/dogvscat", "stack-prune.yml"),
    ("BretFisher/dogvscat", "stack-rexray.yml"),
    ("BretFisher/dogvscat", "stack-sqlite-ghost.yml"),
    ("BretFisher/dogvscat", "stack-swarmprom.yml"),
    ("BretFisher/dogvscat", "stack-visualizer.yml"),
    ("BretFisher/dogvscat", "stack-voting.yml"),
    ("tiangolo/dockerswarm.rocks", "docs/portainer.yml"),
    ("tiangolo/dockerswarm.rocks", "docs/swarmpit.yml"),
    ("tiangolo/dockerswarm.rocks", "docs/swarmprom.yml"),
    ("tiangolo/dockerswarm.rocks", "docs/thelounge.yml"),
    ("tiangolo/dockerswarm.rocks", "docs/traefik-host.yml"),
    ("tiangolo/dockerswarm.rocks", "docs/traefik.yml"),
    ("tiangolo/dockerswarm.rocks", "docs/traefik-v3.yml"),
]

VALUES = {"DOMAIN": "example.test", "EMAIL": "ops@example.test", "USERNAME": "admin",
          "HASHED_PASSWORD": "$$apr1$$x$$y", "NODE_ID": "nodeid", "ADMIN_USER": "admin",
          "ADMIN_PASSWORD": "admin"}
PREDEFINED = {"host", "bridge", "none"}


def git_show(repo, path):
    d = os.path.join(MIRROR, repo.replace("/", "+"), "repo")
    sha = subprocess.check_output(["git", "-C", d, "rev-parse", "HEAD"], text=True).strip()
    return d, sha, subprocess.check_output(["git", "-C", d, "show", "HEAD:" + path])


def fill_vars(text):
    # ${VAR}, ${VAR?msg}, ${VAR:?msg}, $VAR without a default: a fixed value.
    def rep(m):
        name = m.group(1) or m.group(3)
        return VALUES.get(name, name.lower() + "-value")
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?\?[^}]*)?\}|(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)", rep, text)


def image(svc_name, ref):
    ref = str(ref)
    if "$" in ref:
        return "127.0.0.1:1/corpus/%s:1" % svc_name
    first = ref.split("/")[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        ref = ref[len(first) + 1:]
    return "127.0.0.1:1/corpus/" + ref


class Ports:
    def __init__(self, base):
        self.base, self.map = base, {}

    def one(self, p):
        p = int(p)
        if p not in self.map:
            self.map[p] = self.base + len(self.map)
        return self.map[p]

    def published(self, s):
        s = str(s)
        if "-" in s:
            lo, hi = s.split("-")
            a = self.one(lo)
            for p in range(int(lo) + 1, int(hi) + 1):
                self.one(p)
            return "%d-%d" % (a, a + int(hi) - int(lo))
        return str(self.one(s))

    def short(self, spec):
        spec = str(spec)
        rest, slash, proto = spec.partition("/")
        parts = rest.split(":")
        if len(parts) < 2:
            return spec
        parts[-2] = self.published(parts[-2])
        return ":".join(parts) + slash + proto


def rename(top, prefix, kind, rewrites):
    for key, obj in (top.get(kind) or {}).items():
        if obj is None:
            continue
        ext = obj.get("external")
        if isinstance(ext, dict):  # old syntax external: {name: x}
            obj["name"] = ext.get("name", key)
            obj["external"] = True
        name = obj.get("name") or (key if obj.get("external") else None)
        if name is None or (kind == "networks" and name in PREDEFINED):
            continue
        obj["name"] = prefix + str(name)


def copy_file(d, path, files_dir, rel):
    """Copies a file the stack file reads (relative to it) next to the rewritten file."""
    src = os.path.normpath(os.path.join(os.path.dirname(path), rel))
    try:
        data = subprocess.check_output(["git", "-C", d, "show", "HEAD:" + src], stderr=subprocess.DEVNULL)
    except subprocess.CalledProcessError:
        data = b"placeholder: the source repository does not have this file\n"
    dst = os.path.join(OUT, files_dir, src)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    open(dst, "wb").write(data)
    return "./" + files_dir + "/" + src


def prepare(n, repo, path):
    d, sha, raw = git_show(repo, path)
    doc = yaml.safe_load(fill_vars(raw.decode()))
    doc.pop("version", None)
    prefix = "bc-%d-" % n
    ports = Ports(22000 + 100 * n)
    files_dir = "%02d.files" % n
    for name, svc in (doc.get("services") or {}).items():
        if "image" in svc or "build" in svc:
            svc["image"] = image(name, svc.get("image", name))
        svc.pop("build", None)  # docker stack deploy ignores build; berth warns
        out = []
        for p in svc.get("ports") or []:
            if isinstance(p, dict):
                if "published" in p:
                    p["published"] = int(ports.published(p["published"])) if "-" not in str(p["published"]) else ports.published(p["published"])
                out.append(p)
            else:
                out.append(ports.short(p))
        if out:
            svc["ports"] = out
        env_files = svc.get("env_file")
        if env_files:
            if isinstance(env_files, str):
                env_files = [env_files]
            svc["env_file"] = [copy_file(d, path, files_dir, f) for f in env_files]
    for kind in ("networks", "volumes", "secrets", "configs"):
        rename(doc, prefix, kind, None)
    for kind in ("secrets", "configs"):
        for key, obj in (doc.get(kind) or {}).items():
            if obj and obj.get("file"):
                obj["file"] = copy_file(d, path, files_dir, obj["file"])
    base = "%02d-%s-%s" % (n, repo.split("/")[1], os.path.basename(path).rsplit(".", 1)[0])
    header = "# source: https://github.com/%s/blob/%s/%s\n# rewritten by hack/corpus/prepare.py (images, published ports, names, variables)\n" % (repo, sha, path)
    with open(os.path.join(OUT, base + ".yml"), "w") as f:
        f.write(header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=200))
    return base


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for n, (repo, path) in enumerate(SOURCES, 1):
        print(prepare(n, repo, path))
