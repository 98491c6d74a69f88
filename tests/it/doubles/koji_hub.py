#!/usr/bin/env python3
"""A stand-in for a Koji hub (a test double: Koji's hub cannot be installed here), enough for the
real PyPI `koji` client's `runroot`, `watch-task` and `cancel`. It runs each runroot command on
this machine with `sh -c`, as a builder would in its chroot with the same mounts, and appends
every call with its arguments to a JSON-lines log the tests read.

Usage: koji_hub.py PORT_FILE CALL_LOG   (binds a free port on 127.0.0.1, writes it to PORT_FILE)
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from socketserver import ThreadingMixIn
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

FREE, OPEN, CLOSED, CANCELED, ASSIGNED, FAILED = range(6)
TASKS = {}
LOCK = threading.Lock()
port_file, call_log = sys.argv[1], sys.argv[2]


class Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/kojihub",)

    def log_message(self, *args):
        pass


class Server(ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True


def record(method, args, kwargs):
    with LOCK, open(call_log, "a") as f:
        f.write(json.dumps({"method": method, "args": args, "kwargs": kwargs}) + "\n")


def task_info(tid, request=False, strict=False):
    t = TASKS[int(tid)]
    info = {k: t[k] for k in ("id", "state", "method", "arch", "label", "owner", "parent",
                              "channel_id", "host_id", "weight", "create_ts", "start_ts",
                              "completion_ts", "priority", "waiting", "awaited")}
    if request:
        info["request"] = t["request"]
    return info


def runroot(tag, arch, command, **kw):
    with LOCK:
        tid = len(TASKS) + 1
        TASKS[tid] = {"id": tid, "state": OPEN, "method": "runroot", "arch": arch, "label": None,
                      "owner": 1, "parent": None, "channel_id": 1, "host_id": 1,
                      "weight": kw.get("weight") or 1.0, "create_ts": 0, "start_ts": 0,
                      "completion_ts": None, "priority": 15, "waiting": None, "awaited": None,
                      "request": [tag, arch, command, kw], "output": b""}
    task = TASKS[tid]
    proc = subprocess.Popen(["sh", "-c", command], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    task["proc"] = proc

    def finish():
        out, _ = proc.communicate()
        task["output"] = out
        if task["state"] != CANCELED:
            task["state"] = CLOSED if proc.returncode == 0 else FAILED
        task["completion_ts"] = 1

    threading.Thread(target=finish, daemon=True).start()
    return tid


def cancel_task(tid, recurse=True):
    task = TASKS[int(tid)]
    task["state"] = CANCELED
    proc = task.get("proc")
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    return None


def task_result(tid, raise_fault=True):
    task = TASKS[int(tid)]
    if "result" in task:
        return task["result"]
    if task["state"] == FAILED:
        raise Exception("runroot task %d failed: %s" % (tid, task["output"].decode(errors="replace")[-500:]))
    return task["output"].decode(errors="replace")


def tags():
    """The tags the tests give the hub: KOJI_HUB_TAGS names a JSON file
    {"event": {...}, "tags": {name: {"parent": name or null, "builds": [...], "rpms": [...]}}}."""
    with open(os.environ["KOJI_HUB_TAGS"]) as f:
        return json.load(f)


def list_tagged_rpms(tag, event=None, inherit=False, prefix=None, latest=False, package=None,
                     arch=None, rpmsigs=False, owner=None, type=None, strict=True, extra=False):
    """Builds of the tag, then of its parents when inheriting; a package name found nearer the
    tag hides the farther ones (latest)."""
    all_tags = tags()["tags"]
    builds, seen, chain = [], set(), []
    t = tag
    while t is not None:
        chain.append(t)
        t = all_tags[t]["parent"] if inherit else None
    for t in chain:
        for b in all_tags[t]["builds"]:
            if latest and b["name"] in seen:
                continue
            seen.add(b["name"])
            builds.append(b)
    ids = {b["id"] for b in builds}
    rpms = [r for t in chain for r in all_tags[t]["rpms"] if r["build_id"] in ids]
    return [rpms, builds]


def new_task(method, arch, request, parent=None, state=CLOSED):
    with LOCK:
        tid = len(TASKS) + 1
        TASKS[tid] = {"id": tid, "state": state, "method": method, "arch": arch, "label": None,
                      "owner": 1, "parent": parent, "channel_id": 1, "host_id": 1,
                      "weight": 1.0, "create_ts": 0, "start_ts": 0, "completion_ts": 1,
                      "priority": 20, "waiting": None, "awaited": None, "request": request,
                      "output": b""}
    return tid


def kiwi_build(target, arches, desc_scm, desc_path, **kw):
    """One createKiwiImage child per arch, each "building" a qcow2 on the volume
    (KOJI_HUB_TOPDIR); KOJI_HUB_FAIL_ARCHES fail, and fail the parent unless optional. With
    KOJI_HUB_TASK_SECONDS the tasks stay open that long first."""
    fail = set(filter(None, os.environ.get("KOJI_HUB_FAIL_ARCHES", "").split(",")))
    optional = set(kw.get("optional_arches") or [])
    delay = float(os.environ.get("KOJI_HUB_TASK_SECONDS", "0"))
    final = {}
    parent = new_task("kiwiBuild", "noarch", [target, arches, desc_scm, desc_path, kw],
                      state=OPEN)
    final[parent] = FAILED if fail - optional else CLOSED
    # Each build of this hub's life its own name: the first mini-kiwi, then mini-kiwi-<task>.
    name = "mini-kiwi" if parent == 1 else "mini-kiwi-%d" % parent
    version, release = "36", "1"
    images = os.path.join(os.environ["KOJI_HUB_TOPDIR"], "packages", name, version, release,
                          "images")
    os.makedirs(images, exist_ok=True)
    writes = []
    for arch in arches:
        failed = arch in fail
        child = new_task("createKiwiImage", arch, [desc_scm, desc_path, arch, {}], parent, OPEN)
        final[child] = FAILED if failed else CLOSED
        files = ["%s.%s-%s.qcow2" % (name, arch, version), "%s.%s-%s.packages" % (name, arch, version)]
        if not failed:
            writes.extend(files)
        TASKS[child]["result"] = {"name": name, "version": version, "release": release,
                                  "arch": arch, "files": files}

    def finish():
        time.sleep(delay)
        for f in writes:
            with open(os.path.join(images, f), "wb") as out:
                out.write(b"QFI\xfb" + ("%s %s\n" % (f, desc_path)).encode())
        for tid, state in final.items():
            TASKS[tid]["state"] = state

    if delay:
        threading.Thread(target=finish, daemon=True).start()
    else:
        finish()
    return parent


BUILDS = {}
ARCHIVES = {}


def osbuild_image(name, version, distro, image_types, target, arches, opts=None):
    """One build whose archives are a qcow2 (type qcow2) and, for image-installer, an ISO
    (type iso, made with xorriso) per arch, plus a log; KOJI_HUB_FAIL_ARCHES fail the task."""
    fail = set(filter(None, os.environ.get("KOJI_HUB_FAIL_ARCHES", "").split(",")))
    release = (opts or {}).get("release") or "1"
    bid = len(BUILDS) + 100
    BUILDS[bid] = {"id": bid, "build_id": bid, "name": name, "package_name": name,
                   "version": version, "release": release}
    task = new_task("osbuildImage", "noarch",
                    [name, version, distro, image_types, target, arches, opts],
                    state=FAILED if fail & set(arches) else CLOSED)
    TASKS[task]["result"] = {"koji": {"build": bid}}
    images = os.path.join(os.environ["KOJI_HUB_TOPDIR"], "packages", name, version, release,
                          "images")
    os.makedirs(images, exist_ok=True)
    archives = [{"type_name": "log", "filename": "osbuild.log", "extra": {}}]
    for arch in arches:
        stem = "%s-%s-%s.%s" % (name, version, release, arch)
        for t in image_types:
            if t == "qcow2":
                f = stem + ".qcow2"
                with open(os.path.join(images, f), "wb") as out:
                    out.write(b"QFI\xfb" + f.encode())
                archives.append({"type_name": "qcow2", "filename": f,
                                 "extra": {"image": {"arch": arch}}})
            elif t == "image-installer":
                f = stem + "-installer.iso"
                content = os.path.join(images, stem + "-content")
                os.makedirs(content, exist_ok=True)
                with open(os.path.join(content, "README"), "w") as out:
                    out.write(f + "\n")
                subprocess.run(["xorriso", "-as", "mkisofs", "-V", name[:32], "-o",
                                os.path.join(images, f), content], check=True,
                               capture_output=True)
                archives.append({"type_name": "iso", "filename": f,
                                 "extra": {"image": {"arch": arch}}})
    ARCHIVES[bid] = archives
    return task


def build_image(name, version, arches, target, inst_tree, opts=None, priority=None):
    """koji image-build (buildImageOz): one createImage child per arch writing a file per format on the volume
    (KOJI_HUB_TOPDIR); KOJI_HUB_FAIL_ARCHES fail, and fail the parent unless can_fail."""
    opts = opts or {}
    fail = set(filter(None, os.environ.get("KOJI_HUB_FAIL_ARCHES", "").split(",")))
    optional = set(filter(None, (opts.get("optional_arches") or "").split(",")))
    parent = new_task("image", "noarch", [name, version, arches, target, inst_tree, opts],
                      state=FAILED if fail - optional else CLOSED)
    release = opts.get("release") or "1"
    images = os.path.join(os.environ["KOJI_HUB_TOPDIR"], "packages", name, version, release,
                          "images")
    if not opts.get("scratch"):
        os.makedirs(images, exist_ok=True)
    suffix = {"qcow2": ".qcow2", "raw-xz": ".raw.xz", "vagrant-libvirt": ".vagrant-libvirt.box"}
    magic = {"qcow2": b"QFI\xfb", "raw-xz": b"\xfd7zXZ\x00", "vagrant-libvirt": b"box"}
    for arch in arches:
        failed = arch in fail
        child = new_task("createImage", arch, [name, version, release, arch, {}, inst_tree, opts],
                         parent, FAILED if failed else CLOSED)
        files = ["%s-%s-%s.%s%s" % (name, version, release, arch, suffix[f])
                 for f in opts.get("format", [])] + ["%s.ks" % name]
        # A scratch image has no build: it stays in the task's work folder.
        where = images
        if opts.get("scratch"):
            where = os.path.join(os.environ["KOJI_HUB_TOPDIR"], "work", "tasks",
                                 str(child % 10000), str(child))
            os.makedirs(where, exist_ok=True)
        if not failed:
            for f, fmt in zip(files, opts.get("format", [])):
                with open(os.path.join(where, f), "wb") as out:
                    out.write(magic[fmt] + f.encode())
        TASKS[child]["result"] = {"name": name, "version": version, "release": release,
                                  "arch": arch, "files": files}
    return parent


def live_media(name, version, arches, target, ksfile, opts=None, priority=None):
    """koji spin-livemedia (buildImage of type livemedia): one createLiveMedia child per arch whose ISO is a copy of
    KOJI_HUB_LIVE_ISO on the volume; KOJI_HUB_FAIL_ARCHES fail, failing the parent unless they
    are can_fail."""
    opts = opts or {}
    fail = set(filter(None, os.environ.get("KOJI_HUB_FAIL_ARCHES", "").split(",")))
    optional = set(opts.get("optional_arches") or [])
    if isinstance(arches, str):
        arches = arches.split(",")
    parent = new_task("livemedia", "noarch", [name, version, arches, target, ksfile, opts],
                      state=FAILED if fail - optional else CLOSED)
    release = opts.get("release") or "1"
    images = os.path.join(os.environ["KOJI_HUB_TOPDIR"], "packages", name, version, release,
                          "images")
    os.makedirs(images, exist_ok=True)
    for arch in arches:
        failed = arch in fail
        child = new_task("createLiveMedia", arch, [name, version, release, arch, {}], parent,
                         FAILED if failed else CLOSED)
        files = ["%s-%s-%s.%s.iso" % (name, version, release, arch), "%s.ks" % name]
        if not failed:
            subprocess.run(["cp", os.environ["KOJI_HUB_LIVE_ISO"], os.path.join(images, files[0])],
                           check=True)
        TASKS[child]["result"] = {"name": name, "version": version, "release": release,
                                  "arch": arch, "files": files}
    return parent


def get_build(info):
    """A build by ID (osbuild's), or by NVR among the tags' (KOJI_HUB_TAGS); None if unknown."""
    if isinstance(info, int) or str(info).isdigit():
        return BUILDS.get(int(info))
    for t in tags()["tags"].values():
        for b in t["builds"]:
            if "%s-%s-%s" % (b["name"], b["version"], b["release"]) == info:
                return b
    return None


def task_children(tid, request=False, strict=False):
    return [task_info(t["id"], request) for t in TASKS.values() if t["parent"] == int(tid)]


FUNCS = {
    "kiwiBuild": kiwi_build,
    "osbuildImage": osbuild_image,
    "buildImageOz": build_image,
    "buildImage": lambda name, version, arches, target, ksfile, img_type, opts=None, priority=None:
        live_media(name, version, arches, target, ksfile, opts, priority),
    "getBuildTarget": lambda info, event=None, strict=False: {
        "id": 1, "name": info, "build_tag": 1, "build_tag_name": info + "-build",
        "dest_tag": 2, "dest_tag_name": info},
    "getTag": lambda info, **kw: {"id": 2, "name": str(info), "locked": False, "arches": "",
                                  "perm": None, "perm_id": None},
    "getBuild": lambda info, strict=False: get_build(info),
    "listRPMs": lambda buildID=None, **kw: [r for t in tags()["tags"].values() for r in t["rpms"]
                                          if r["build_id"] == int(buildID)],
    "getHost": lambda info, strict=False, event=None: {"id": 1, "name": "builder.example.org"},
    "listArchives": lambda buildID=None, **kw: ARCHIVES[int(buildID)],
    "getLastEvent": lambda before=None, strict=True: tags()["event"],
    "listTaggedRPMS": list_tagged_rpms,
    "getAPIVersion": lambda: 1,
    "getKojiVersion": lambda: "1.36.1",
    "getLoggedInUser": lambda: {"id": 1, "name": "kiln", "status": 0, "usertype": 0},
    "runroot": runroot,
    "getTaskInfo": task_info,
    "getTaskChildren": task_children,
    "getTaskDescendents": lambda tid, request=False: {str(tid): []},
    "taskFinished": lambda tid: TASKS[int(tid)]["state"] in (CLOSED, CANCELED, FAILED),
    "getTaskResult": task_result,
    "cancelTask": cancel_task,
    "multiCall": lambda calls, strict=False: multicall(calls, strict),
    "listTaskOutput": lambda tid, stat=False, all_volumes=False, strict=False:
        {"runroot.log": ["DEFAULT"]} if TASKS[int(tid)]["completion_ts"] else {},
    "downloadTaskOutput": lambda tid, name, offset=0, size=-1, volume=None:
        __import__("base64").b64encode(
            TASKS[int(tid)]["output"][offset:(None if size < 0 else offset + size)]).decode(),
}


def multicall(calls, strict=False):
    """koji's own multicall (the client's `multiCall`): one result list per call, or a fault."""
    out = []
    for c in calls:
        try:
            out.append([dispatch(c["methodName"], c["params"])])
        except Exception as e:  # a fault for this call only, as the hub answers
            out.append({"faultCode": 1, "faultString": str(e)})
    return out


def dispatch(method, params):
    kwargs = {}
    if params and isinstance(params[-1], dict) and params[-1].get("__starstar"):
        kwargs = dict(params[-1])
        kwargs.pop("__starstar")
        params = params[:-1]
    record(method, list(params), kwargs)
    if method not in FUNCS:
        raise Exception("the stand-in hub has no %s" % method)
    return FUNCS[method](*params, **kwargs)


server = Server(("127.0.0.1", 0), Handler, allow_none=True, logRequests=False)
server.register_instance(type("D", (), {"_dispatch": staticmethod(dispatch)})())
server.register_multicall_functions()
with open(port_file + ".part", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".part", port_file)
server.serve_forever()
