#!/usr/bin/env python3
"""deploy/docker/Dockerfile without a Docker daemon: each runtime stage installs the Debian
package of every shared library `ldd` reports for the binary it ships (mapped with `dpkg -S`),
so an image cannot start with "error while loading shared libraries"; the build stage installs
exactly scripts/install-deps.sh's BUILD_PACKAGES; the bases, users and .dockerignore are what
docs/operations.md promises. The checker is also run on a Dockerfile with one package taken
out, to show that it catches a missing library."""
import functools
import os
import re
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DOCKERFILE = os.path.join(harness.SOURCE_DIR, "deploy", "docker", "Dockerfile")
INSTALL_DEPS = os.path.join(harness.SOURCE_DIR, "scripts", "install-deps.sh")
DOCKERIGNORE = os.path.join(harness.SOURCE_DIR, ".dockerignore")

# The binaries the images ship come from the normal build (the Dockerfile configures it like
# scripts/build.sh). The sanitizer build links the ASan and UBSan runtimes, which no image has,
# so its run of this test looks at the normal build beside it (scripts/test.sh builds both).
BUILD_BIN_DIR = os.path.join(harness.SOURCE_DIR, "build", "bin") if harness.SANITIZED \
    else harness.BIN_DIR

# Programs a binary runs (rather than links), which its image must therefore carry:
# `weft-proxy init` writes the capture rules with these (proxy/init/init_command.cc).
EXECUTED = {"weft-proxy": ["iptables", "iptables-restore", "ip6tables", "ip6tables-restore"]}


class Stage:
    def __init__(self, base, name):
        self.base, self.name = base, name
        self.packages = []  # apt-get install arguments, in order
        self.copied = []  # (source, destination) of COPY --from
        self.copied_from = []  # the stages they come from
        self.user = None
        self.entrypoint = None


def instructions(text):
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined and
    comments dropped."""
    joined, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        joined.append(current + stripped)
        current = ""
    if current:
        joined.append(current)
    result = []
    for instruction in joined:
        keyword, _, arguments = instruction.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def parse_dockerfile(text):
    """The stages by name (and "" for an unnamed one)."""
    stages = {}
    stage = None
    for keyword, arguments in instructions(text):
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else ""
            stage = stages[name] = Stage(words[0], name)
        elif stage is None:
            continue
        elif keyword == "RUN":
            for command in re.split(r"&&|;", arguments):
                words = shlex.split(command)
                while words and "=" in words[0]:
                    words = words[1:]  # VAR=value prefixes
                if words[:2] == ["apt-get", "install"]:
                    stage.packages += [w for w in words[2:] if not w.startswith("-")]
        elif keyword == "COPY" and arguments.startswith("--from="):
            words = arguments.split()
            stage.copied.append((words[1], words[2]))
            stage.copied_from.append(words[0][len("--from="):])
        elif keyword == "USER":
            stage.user = arguments
        elif keyword == "ENTRYPOINT":
            stage.entrypoint = arguments
    return stages


def build_packages():
    """BUILD_PACKAGES=( ... ) of scripts/install-deps.sh."""
    with open(INSTALL_DEPS) as f:
        text = f.read()
    body = re.search(r"BUILD_PACKAGES=\((.*?)\)", text, re.S).group(1)
    words = []
    for line in body.splitlines():
        words += line.split("#", 1)[0].split()
    return words


@functools.lru_cache(maxsize=None)
def owning_package(path):
    """The Debian package that installed `path` (dpkg -S), without its architecture; tries the
    path as given, resolved, and in its /usr-merged and unmerged forms, since dpkg records the
    name the package shipped."""
    candidates = [path, os.path.realpath(path)]
    for candidate in list(candidates):
        if candidate.startswith("/usr/"):
            candidates.append(candidate[len("/usr"):])
        else:
            candidates.append("/usr" + candidate)
    for candidate in candidates:
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def linked_libraries(binary):
    """(soname, resolved path or None) of every shared library ldd reports."""
    result = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True)
    libraries = []
    for line in result.stdout.splitlines():
        line = line.strip()
        if line.startswith("linux-vdso") or line.startswith("statically linked"):
            continue
        match = re.match(r"(\S+) => (not found|(\S+) \(0x[0-9a-f]+\))", line)
        if match:
            libraries.append((match.group(1), match.group(3)))
        elif re.match(r"(/\S+) \(0x[0-9a-f]+\)", line):  # the dynamic loader
            libraries.append((os.path.basename(line.split()[0]), line.split()[0]))
    return libraries


def missing_packages(stage, bin_dir):
    """Problems of one runtime stage: each library or executed program of its binaries whose
    package the stage does not install, as text."""
    problems = []
    for source, _ in stage.copied:
        binary = os.path.basename(source)
        for soname, path in linked_libraries(os.path.join(bin_dir, binary)):
            if path is None:
                problems.append(f"{binary}: ldd finds no {soname} on this machine")
                continue
            package = owning_package(path)
            if package is None:
                problems.append(f"{binary}: {soname} ({path}) belongs to no Debian package")
            elif package not in stage.packages:
                problems.append(f"{binary} links {soname} from package {package}, which stage "
                                f"'{stage.name}' does not install")
        for program in EXECUTED.get(binary, []):
            path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
            package = owning_package(path) if path else None
            if package is None:
                problems.append(f"{binary} runs {program}, which no package on this machine "
                                "provides (install-deps.sh installs iptables)")
            elif package not in stage.packages:
                problems.append(f"{binary} runs {program} from package {package}, which stage "
                                f"'{stage.name}' does not install")
    return problems


class DockerImagesTest(harness.IntegrationTest):
    def setUp(self):
        super().setUp()
        harness.require_tool("ldd")
        harness.require_tool("dpkg")
        with open(DOCKERFILE) as f:
            self.text = f.read()
        self.stages = parse_dockerfile(self.text)

    def runtime_stages(self):
        return [s for s in self.stages.values() if s.copied]

    def test_stages_and_bases(self):
        self.assertEqual(set(self.stages), {"build", "controlplane", "proxy", "injector"})
        self.assertEqual(self.stages["build"].base, "debian:12")
        shipped = {}
        for stage in self.runtime_stages():
            self.assertEqual(stage.base, "debian:12-slim", stage.name)
            self.assertEqual(len(stage.copied), 1, f"{stage.name}: one binary per image")
            source, destination = stage.copied[0]
            self.assertEqual(stage.copied_from, ["build"], stage.name)
            shipped[stage.name] = os.path.basename(source)
            self.assertEqual(stage.entrypoint, f'["{destination}"]', stage.name)
        self.assertEqual(shipped, {"controlplane": "weft-controlplane", "proxy": "weft-proxy",
                                   "injector": "weft-injector"})

    def test_runtime_users_are_not_root(self):
        # The control plane runs as the manifests' runAsUser; the proxy as the uid that
        # `weft-proxy init` exempts from capture by default.
        self.assertEqual(self.stages["controlplane"].user, "65532:65532")
        self.assertEqual(self.stages["proxy"].user, "1337:1337")
        self.assertEqual(self.stages["injector"].user, "65532:65532")
        for manifest in ("controlplane.yaml", "injector.yaml"):
            with open(os.path.join(harness.SOURCE_DIR, "deploy", "k8s", manifest)) as f:
                self.assertIn("runAsUser: 65532", f.read())

    def test_build_stage_installs_the_build_packages_of_install_deps(self):
        self.assertEqual(self.stages["build"].packages, build_packages())

    def test_every_linked_library_is_installed_in_its_runtime_stage(self):
        for stage in self.runtime_stages():
            for source, _ in stage.copied:
                binary = os.path.join(BUILD_BIN_DIR, os.path.basename(source))
                self.assertTrue(os.path.exists(binary), f"{binary} is not built")
            with self.subTest(stage=stage.name):
                self.assertEqual(missing_packages(stage, BUILD_BIN_DIR), [])

    def test_runtime_stages_install_nothing_unneeded(self):
        # Every package a runtime stage names is the home of a library or program its binary
        # needs: the images stay minimal as the binaries change.
        for stage in self.runtime_stages():
            binary = os.path.basename(stage.copied[0][0])
            needed = {owning_package(path) for _, path in
                      linked_libraries(os.path.join(BUILD_BIN_DIR, binary)) if path}
            for program in EXECUTED.get(binary, []):
                path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
                needed.add(owning_package(path) if path else None)
            self.assertEqual(sorted(set(stage.packages) - needed), [], stage.name)

    def test_the_check_catches_a_missing_library(self):
        # Taking libssl3 out of the control plane stage must be reported, naming the library.
        broken = parse_dockerfile(self.text.replace(" libssl3 \\\n        libabsl", " \\\n"
                                                    "        libabsl", 1))
        self.assertNotIn("libssl3", broken["controlplane"].packages)
        problems = missing_packages(broken["controlplane"], BUILD_BIN_DIR)
        self.assertTrue(any("libssl.so.3" in p and "libssl3" in p for p in problems), problems)
        # And taking iptables out of the proxy stage.
        broken = parse_dockerfile(self.text.replace("libc6 libssl3 iptables", "libc6 libssl3"))
        problems = missing_packages(broken["proxy"], BUILD_BIN_DIR)
        self.assertTrue(any("iptables-restore" in p for p in problems), problems)

    def test_dockerignore_keeps_build_trees_out_of_the_context(self):
        with open(DOCKERIGNORE) as f:
            patterns = {line.strip() for line in f if line.strip() and not line.startswith("#")}
        for pattern in ("build/", "build-*/", ".git/"):
            self.assertIn(pattern, patterns)


if __name__ == "__main__":
    harness.main()
