#!/usr/bin/env python3
"""Structural check of the CI definitions users copy from ci/.

    tests/scripts/check-ci.py [ROOT]     (default: the checkout this file is in)

Parses ci/github/*.yml and ci/k8s/*.yaml with PyYAML (Debian's python3-yaml,
in scripts/lib/deps.sh) and checks what a YAML parser alone does not: each
workflow has triggers and jobs, every step either runs a command or uses an
action at a pinned version, every ${{ matrix.X }} exists, `needs` name real
jobs, the scripts the steps call exist and are executable, flavours are ones
ci/lib/common.sh knows, the nightly shard matrix covers 0..N-1 for the N it
passes to --shard, and the Kubernetes Job is Indexed with completions equal to
the shard count it passes. Prints one line per problem; exit 0 when none, 1
otherwise, 2 when PyYAML is missing.
"""
import os
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    print("check-ci.py: python3-yaml is not installed (scripts/lib/deps.sh installs it)")
    sys.exit(2)

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), "..", ".."))
problems = []
checks = 0


def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        problems.append(msg)
    return cond


def load(rel, multi=False):
    path = os.path.join(ROOT, rel)
    if not check(os.path.isfile(path), f"{rel}: missing"):
        return [] if multi else {}
    with open(path) as f:
        try:
            docs = list(yaml.safe_load_all(f))
        except yaml.YAMLError as e:
            check(False, f"{rel}: not YAML: {e}")
            return [] if multi else {}
    if multi:
        return docs
    check(len(docs) == 1 and isinstance(docs[0], dict), f"{rel}: expected one mapping")
    return docs[0] if docs and isinstance(docs[0], dict) else {}


def known_flavours():
    with open(os.path.join(ROOT, "ci/lib/common.sh")) as f:
        text = f.read()
    body = text[text.index("ci_python()"):]
    return set(re.findall(r"^\s*([0-9A-Za-z.-]+)\)", body, re.M))


def scripts_in(cmd):
    """(script, sourced) for each ci/*.sh or scripts/*.sh a command names."""
    return [(m.group(2), m.group(1) is not None) for m in
            re.finditer(r"(?:^|(?<=[\s'\"(;&|]))(\.\s+|source\s+)?(ci/[\w./-]+\.sh|scripts/[\w./-]+\.sh)",
                        cmd or "")]


def check_workflow(rel):
    wf = load(rel)
    # YAML 1.1 reads the key `on` as true.
    triggers = wf.get("on", wf.get(True))
    check(isinstance(wf.get("name"), str), f"{rel}: no name")
    check(isinstance(triggers, (dict, list, str)) and triggers, f"{rel}: no triggers (on:)")
    jobs = wf.get("jobs")
    if not check(isinstance(jobs, dict) and jobs, f"{rel}: no jobs"):
        return wf, {}
    flavours = known_flavours()
    for name, job in jobs.items():
        where = f"{rel}: job {name}"
        if not check(isinstance(job, dict), f"{where}: not a mapping"):
            continue
        check(isinstance(job.get("runs-on"), (str, list)), f"{where}: no runs-on")
        for need in ([job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", [])):
            check(need in jobs, f"{where}: needs unknown job {need}")
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        for fl in matrix.get("flavour", []):
            check(str(fl) in flavours, f"{where}: flavour {fl} unknown to ci/lib/common.sh")
        steps = job.get("steps")
        if not check(isinstance(steps, list) and steps, f"{where}: no steps"):
            continue
        for i, step in enumerate(steps):
            sw = f"{where}, step {i + 1}"
            if not check(isinstance(step, dict), f"{sw}: not a mapping"):
                continue
            check(("run" in step) != ("uses" in step), f"{sw}: needs exactly one of run, uses")
            if "uses" in step:
                check(re.fullmatch(r"[\w.-]+/[\w./-]+@[\w.-]+", str(step["uses"])) is not None,
                      f"{sw}: uses {step['uses']!r} is not owner/repo@version")
            text = yaml.safe_dump(step)
            for ref in re.findall(r"\$\{\{\s*matrix\.([\w-]+)", text):
                check(ref in matrix, f"{sw}: matrix.{ref} is not in the job's matrix")
            for script, sourced in scripts_in(step.get("run")):
                p = os.path.join(ROOT, script)
                check(os.path.isfile(p) and (sourced or os.access(p, os.X_OK)),
                      f"{sw}: {script} does not exist or is not executable")
    return wf, jobs


def run_of(job, script):
    for step in job.get("steps", []):
        if script in str(step.get("run", "")):
            return str(step["run"])
    return None


# --- the per-PR workflow
wf, jobs = check_workflow("ci/github/pr.yml")
triggers = wf.get("on", wf.get(True)) or {}
check("pull_request" in triggers, "ci/github/pr.yml: not triggered by pull_request")
flavours = set()
for job in jobs.values():
    flavours |= set(str(f) for f in ((job.get("strategy") or {}).get("matrix") or {}).get("flavour", []))
check("system" in flavours and any(f.endswith("t") or "t-" in f for f in flavours),
      "ci/github/pr.yml: the matrix must build against system and a free-threaded CPython")
check(any(run_of(j, "ci/pr.sh") for j in jobs.values()), "ci/github/pr.yml: no step runs ci/pr.sh")
check("junit" in yaml.safe_dump(wf).lower(), "ci/github/pr.yml: JUnit is not published")

# --- the nightly workflow
wf, jobs = check_workflow("ci/github/nightly.yml")
triggers = wf.get("on", wf.get(True)) or {}
crons = [s.get("cron", "") for s in (triggers.get("schedule") or []) if isinstance(s, dict)]
check(crons and all(len(c.split()) == 5 for c in crons), "ci/github/nightly.yml: no valid schedule cron")
shard_jobs = [(n, j) for n, j in jobs.items() if run_of(j, "ci/nightly-shard.sh")]
merge_jobs = [(n, j) for n, j in jobs.items() if run_of(j, "ci/nightly-merge.sh")]
if check(len(shard_jobs) == 1, "ci/github/nightly.yml: expected one job running ci/nightly-shard.sh"):
    name, job = shard_jobs[0]
    cmd = run_of(job, "ci/nightly-shard.sh")
    m = re.search(r"--shard\s+\$\{\{\s*matrix\.shard\s*\}\}/(\d+)", cmd)
    if check(m is not None, "ci/github/nightly.yml: --shard is not ${{ matrix.shard }}/N"):
        n = int(m.group(1))
        shards = ((job.get("strategy") or {}).get("matrix") or {}).get("shard")
        check(shards == list(range(n)), f"ci/github/nightly.yml: matrix.shard {shards} is not 0..{n - 1}")
    check("--seed" in cmd, "ci/github/nightly.yml: shards need one --seed for the night")
    check(len(((job.get("strategy") or {}).get("matrix") or {}).get("flavour", [])) >= 2,
          "ci/github/nightly.yml: the matrix should cover several CPython flavours")
    check(any("upload-artifact" in str(s.get("uses", "")) for s in job["steps"]),
          "ci/github/nightly.yml: shards do not upload their JSON")
if check(len(merge_jobs) == 1, "ci/github/nightly.yml: expected one job running ci/nightly-merge.sh"):
    name, job = merge_jobs[0]
    needs = job.get("needs")
    check(shard_jobs and shard_jobs[0][0] in ([needs] if isinstance(needs, str) else needs or []),
          "ci/github/nightly.yml: the merge job does not wait for the shards")
    check("always()" in str(job.get("if", "")), "ci/github/nightly.yml: the merge must run when a shard failed")
    cmd = run_of(job, "ci/nightly-merge.sh")
    m = re.search(r"--baseline\s+(\S+)", cmd)
    if check(m is not None, "ci/github/nightly.yml: the merge has no --baseline"):
        check(os.path.isfile(os.path.join(ROOT, m.group(1))), f"ci/github/nightly.yml: {m.group(1)} missing")
    check(any("download-artifact" in str(s.get("uses", "")) for s in job["steps"]),
          "ci/github/nightly.yml: the merge job does not download the shards")

# --- Kubernetes
docs = load("ci/k8s/nightly-job.yaml", multi=True)
if check(len(docs) == 1 and isinstance(docs[0], dict), "ci/k8s/nightly-job.yaml: expected one document"):
    job = docs[0]
    spec = job.get("spec") or {}
    check(job.get("apiVersion") == "batch/v1" and job.get("kind") == "Job", "ci/k8s/nightly-job.yaml: not a batch/v1 Job")
    check(spec.get("completionMode") == "Indexed", "ci/k8s/nightly-job.yaml: not an Indexed Job")
    pod = (spec.get("template") or {}).get("spec") or {}
    check(pod.get("restartPolicy") in ("Never", "OnFailure"), "ci/k8s/nightly-job.yaml: a Job's pods need restartPolicy Never")
    containers = pod.get("containers") or []
    if check(len(containers) == 1, "ci/k8s/nightly-job.yaml: expected one container"):
        c = containers[0]
        cmd = " ".join(map(str, (c.get("command") or []) + (c.get("args") or [])))
        check("ci/nightly-shard.sh" in cmd, "ci/k8s/nightly-job.yaml: does not run ci/nightly-shard.sh")
        check(re.search(r"--shard\s+\"?\$\{?JOB_COMPLETION_INDEX\}?/\$\{?SHARDS\}?", cmd) is not None,
              "ci/k8s/nightly-job.yaml: --shard is not $JOB_COMPLETION_INDEX/$SHARDS")
        env = {e.get("name"): e for e in c.get("env") or []}
        check("SHARDS" in env and str(env["SHARDS"].get("value")) == str(spec.get("completions")),
              "ci/k8s/nightly-job.yaml: SHARDS must equal completions")
        check("SEED" in env, "ci/k8s/nightly-job.yaml: every pod needs the same SEED")
        check(str((env.get("FLAVOUR") or {}).get("value")) in known_flavours(),
              "ci/k8s/nightly-job.yaml: FLAVOUR unknown to ci/lib/common.sh")
docs = load("ci/k8s/nightly-merge-job.yaml", multi=True)
if check(len(docs) == 1 and isinstance(docs[0], dict), "ci/k8s/nightly-merge-job.yaml: expected one document"):
    check(docs[0].get("kind") == "Job" and "ci/nightly-merge.sh" in yaml.safe_dump(docs[0]),
          "ci/k8s/nightly-merge-job.yaml: not a Job running ci/nightly-merge.sh")

for p in problems:
    print(f"check-ci.py: {p}")
print(f"check-ci.py: {checks} checks, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
