#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Reads the deployment files for tests/integration/deploy_test.sh, which
# has no Docker engine to run them with: the services of a resolved
# `docker-compose config` as bash arrays (with the loopback mapping applied
# and printed), the Dockerfile's stages, and the commands and flags the
# Jenkinsfile and the GitHub workflow run. It checks nothing itself; the
# test asserts on what it prints.
#
#   deploy_check.py compose CONFIG.yml P_KATO P_CTL RESULTS BINDIR
#   deploy_check.py dockerfile-copies DOCKERFILE       (one source a line)
#   deploy_check.py dockerfile-packages DOCKERFILE STAGE
#   deploy_check.py dockerfile-healthcheck DOCKERFILE STAGE
#   deploy_check.py dockerfile-cmd DOCKERFILE STAGE    (JSON list)
#   deploy_check.py shell-blocks FILE                  (Jenkinsfile or workflow)
#   deploy_check.py invocations FILE                   (PROGRAM TAB FLAGS)
#   deploy_check.py workflow-facts WORKFLOW
import json
import re
import shlex
import sys

import yaml


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(2)


# --- docker-compose config -------------------------------------------------


def argv_of(svc):
    """The process a service runs: entrypoint + command (each a list or a
    shell-like string, as compose splits them)."""
    out = []
    for key in ("entrypoint", "command"):
        v = svc.get(key)
        if v is None:
            continue
        out += shlex.split(v) if isinstance(v, str) else [str(x) for x in v]
    return out


def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def expose_of(svc):
    return [str(p).split("/")[0] for p in svc.get("expose") or []]


def compose(path, p_kato, p_ctl, results, bindir):
    with open(path) as f:
        cfg = yaml.safe_load(f)
    svcs = cfg.get("services") or {}
    for name in ("kato", "master", "agent"):
        if name not in svcs:
            die("no service %s" % name)
    kato_port = (expose_of(svcs["kato"]) or ["?"])[0]
    ctl_port = (expose_of(svcs["master"]) or ["?"])[0]
    # The loopback mapping, stated once: service names and the wildcard
    # address become 127.0.0.1, each service's exposed port becomes the
    # test's free port for it, the master's volume target becomes RESULTS
    # and a bare program name becomes BINDIR/name. Only exact host:port
    # pairs are mapped, so a port that differs from the exposed one stays
    # as it is and the processes cannot meet.
    pairs = [
        ("//kato:%s" % kato_port, "//127.0.0.1:%s" % p_kato),
        ("//master:%s" % ctl_port, "//127.0.0.1:%s" % p_ctl),
        ("//0.0.0.0:%s" % ctl_port, "//127.0.0.1:%s" % p_ctl),
    ]
    vols = svcs["master"].get("volumes") or []
    vol_target = None
    for v in vols:
        if isinstance(v, dict):
            vol_target = v.get("target")
            vol_source = v.get("source")
        else:
            parts = str(v).split(":")
            vol_source, vol_target = parts[0], parts[1]
    print("# mapping: kato:%s -> 127.0.0.1:%s, master:%s and 0.0.0.0:%s -> "
          "127.0.0.1:%s, katosim --bind 0.0.0.0 -> 127.0.0.1, volume %s -> %s"
          % (kato_port, p_kato, ctl_port, ctl_port, p_ctl, vol_target,
             results))
    for name in ("kato", "master", "agent"):
        svc = svcs[name]
        argv = argv_of(svc)
        mapped = []
        for i, a in enumerate(argv):
            for old, new in pairs:
                a = a.replace(old, new)
            if vol_target and a == vol_target:
                a = results
            if name == "kato" and i > 0 and argv[i - 1] == "--bind" and \
                    a == "0.0.0.0":
                a = "127.0.0.1"
            if name == "kato" and i > 0 and argv[i - 1] == "--port" and \
                    a == kato_port:
                a = p_kato
            mapped.append(a)
        if mapped and "/" not in mapped[0]:
            mapped[0] = bindir + "/" + mapped[0]
        up = name.upper()
        print("%s_ARGV=(%s)" % (up, " ".join(shlex.quote(a) for a in mapped)))
        print("%s_RAW=%s" % (up, shlex.quote(" ".join(argv))))
        env = env_of(svc)
        print("%s_ENV=(%s)" % (up, " ".join(
            shlex.quote("%s=%s" % kv) for kv in sorted(env.items()))))
        print("%s_EXPOSE=%s" % (up, shlex.quote(" ".join(expose_of(svc)))))
        print("%s_SCALE=%s" % (up, shlex.quote(str(svc.get("scale", 1)))))
        print("%s_USER=%s" % (up, shlex.quote(str(svc.get("user", "")))))
        dep = svc.get("depends_on") or {}
        if isinstance(dep, list):
            dep = {d: {} for d in dep}
        print("%s_DEPENDS=%s" % (up, shlex.quote(" ".join(
            "%s:%s" % (k, (v or {}).get("condition", "service_started"))
            for k, v in sorted(dep.items())))))
    print("VOLUME_SOURCE=%s" % shlex.quote(str(vol_source)))
    print("VOLUME_TARGET=%s" % shlex.quote(str(vol_target)))


# --- Dockerfile --------------------------------------------------------------


def dockerfile_stages(path):
    """[(stage name, [instruction lines with continuations joined])]."""
    with open(path) as f:
        text = f.read()
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = re.match(r"FROM\s+\S+(?:\s+AS\s+(\S+))?", s, re.I)
        if m:
            stages.append((m.group(1) or "", []))
            continue
        if stages:
            stages[-1][1].append(s)
    return stages


def stage(path, name):
    for n, lines in dockerfile_stages(path):
        if n == name:
            return lines
    die("no stage %s" % name)


def dockerfile_copies(path):
    for _, lines in dockerfile_stages(path):
        for s in lines:
            if not re.match(r"COPY\s", s, re.I) or "--from=" in s:
                continue
            words = s.split()[1:]
            for w in words[:-1]:
                if not w.startswith("--"):
                    print(w)


def dockerfile_packages(path, name):
    for s in stage(path, name):
        for m in re.finditer(r"apt-get install ([^&;|]*)", s):
            for w in m.group(1).split():
                if not w.startswith("-"):
                    print(w)


def dockerfile_healthcheck(path, name):
    for s in stage(path, name):
        if s.upper().startswith("HEALTHCHECK"):
            print(s)


def dockerfile_cmd(path, name):
    cmd = None
    for s in stage(path, name):
        if s.upper().startswith("CMD "):
            cmd = json.loads(s[4:])
    print(json.dumps(cmd))


# --- pipelines -----------------------------------------------------------------


def shell_blocks(path):
    """The shell a Jenkinsfile (sh '...' / sh '''...''') or a workflow
    (run:) hands to a shell, one block per paragraph, continuations joined,
    separated by a line '----'."""
    with open(path) as f:
        text = f.read()
    blocks = []
    if path.endswith((".yml", ".yaml")):
        wf = yaml.safe_load(text)
        for job in (wf.get("jobs") or {}).values():
            for st in job.get("steps") or []:
                if "run" in st:
                    blocks.append(st["run"])
    else:
        blocks += re.findall(r"\bsh\s+'''(.*?)'''", text, re.S)
        blocks += re.findall(r"\bsh\s+'([^'\n]*)'", text)
        blocks += re.findall(r'\bsh\s+"([^"\n]*)"', text)
    return [re.sub(r"\\\n\s*", " ", b).strip() for b in blocks]


def print_shell_blocks(path):
    for b in shell_blocks(path):
        print(b)
        print("----")


def invocations(path):
    """One line per command of the file's shell: PROGRAM TAB FLAGS (the
    words that start with --, before any = value) TAB the other words
    (each list '-' when empty, so that tabs never collapse), then for a flag kept in
    a variable (quick=--quick): '=' TAB FLAG TAB the block's programs."""
    for b in shell_blocks(path):
        progs = []
        assigns = []
        for line in b.splitlines():
            for seg in re.split(r"&&|\|\||;|\||&(?!>)", line):
                try:
                    words = shlex.split(seg)
                except ValueError:
                    words = seg.split()
                while words and re.match(r"^\w+=", words[0]):
                    m = re.match(r"^\w+=(--[\w-]+)$", words[0])
                    if m:
                        assigns.append(m.group(1))
                    words = words[1:]
                while words and words[0] in ("nohup", "exec", "command"):
                    words = words[1:]
                if not words or words[0] in ("do", "then", "for", "if"):
                    continue
                flags = [w.split("=", 1)[0] for w in words[1:]
                         if w.startswith("--")]
                plain = [w for w in words[1:] if not w.startswith("-")]
                progs.append(words[0])
                print("%s\t%s\t%s" % (words[0], " ".join(flags) or "-",
                                       " ".join(plain) or "-"))
        for a in assigns:
            print("=\t%s\t%s" % (a, " ".join(progs) or "-"))


def workflow_facts(path):
    with open(path) as f:
        wf = yaml.safe_load(f)
    on = wf.get("on", wf.get(True)) or {}
    print("schedule=%s" % json.dumps(on.get("schedule")))
    print("dispatch=%s" % ("workflow_dispatch" in on))
    for job in (wf.get("jobs") or {}).values():
        for st in job.get("steps") or []:
            uses = st.get("uses", "")
            if uses.startswith("actions/upload-artifact"):
                print("upload_path=%s" % (st.get("with") or {}).get("path"))
                print("upload_if=%s" % st.get("if", ""))


def main():
    if len(sys.argv) < 3:
        die("usage: deploy_check.py WHAT FILE ...")
    what, args = sys.argv[1], sys.argv[2:]
    table = {
        "compose": compose,
        "dockerfile-copies": dockerfile_copies,
        "dockerfile-packages": dockerfile_packages,
        "dockerfile-healthcheck": dockerfile_healthcheck,
        "dockerfile-cmd": dockerfile_cmd,
        "shell-blocks": print_shell_blocks,
        "invocations": invocations,
        "workflow-facts": workflow_facts,
    }
    if what not in table:
        die("unknown: %s" % what)
    table[what](*args)


if __name__ == "__main__":
    main()
