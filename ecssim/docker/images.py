"""The stand-in workload image, built without a registry, and the command that plays a task.

No image can be pulled on a machine without a registry, so ecssim builds its own: the host's
*static* busybox with one symlink per applet, ``/tmp`` and ``/etc/passwd``, packed into a tar
archive in memory and imported into the engine (what ``docker import`` does) as
:data:`WORKLOAD_IMAGE` with ``ENV PATH=/bin`` and ``CMD ["sh"]``. It takes about 0.2 s and is
reused while the tag exists. Bump :data:`WORKLOAD_IMAGE_VERSION` when the layout changes.

:func:`workload_command` is the shell script a stand-in container runs to play a task: run for
its duration and exit with a code, run until stopped, or allocate memory until the kernel's
OOM killer ends it, either after its duration or when it receives :data:`HOG_SIGNAL`. It
traps SIGTERM and exits 143 at once, as a well-behaved application would, so ``docker stop``
measures the engine's stop path and not its 10 s kill timeout.
"""

from __future__ import annotations

import io
import shlex
import signal
import struct
import subprocess
import tarfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import docker

WORKLOAD_REPOSITORY = "ecssim/workload"
WORKLOAD_IMAGE_VERSION = "1"
WORKLOAD_IMAGE = f"{WORKLOAD_REPOSITORY}:{WORKLOAD_IMAGE_VERSION}"
#: Where a static busybox is looked for (Debian's busybox-static installs /bin/busybox).
BUSYBOX_PATHS = (Path("/bin/busybox"), Path("/usr/bin/busybox"))
BUSYBOX_HINT = "install a static busybox: apt-get install busybox-static"
#: Stand-in workloads need no network: ``none`` also keeps the bridge's ~0.2 s out of every
#: start, and calibration and validation runs must use the same mode to measure the same thing.
WORKLOAD_NETWORK_MODE = "none"
#: Exit status of a workload that received SIGTERM (128 + 15), as a shell reports it.
SIGTERM_EXIT_CODE = 143
#: The signal that turns a workload armed with ``hog_on_signal`` into a memory hog: the Docker
#: agent sends it from the host when the simulated memory use crosses the container's limit.
HOG_SIGNAL = signal.SIGUSR1
#: A shell loop allocating memory without end (a string doubling), until the OOM killer acts.
_HOG_LOOP = "a=0123456789abcdef; while :; do a=$a$a; done"


class WorkloadImageError(RuntimeError):
    """The stand-in workload image cannot be built (no static busybox on this host)."""


def is_static_elf(path: Path) -> bool:
    """Whether ``path`` is an ELF executable without a program interpreter (statically
    linked), so that it runs in an empty image."""
    with open(path, "rb") as handle:
        header = handle.read(64)
        if header[:4] != b"\x7fELF":
            return False
        wide = header[4] == 2
        order = "<" if header[5] == 1 else ">"
        if wide:
            phoff, = struct.unpack_from(order + "Q", header, 32)
            phentsize, phnum = struct.unpack_from(order + "HH", header, 54)
        else:
            phoff, = struct.unpack_from(order + "I", header, 28)
            phentsize, phnum = struct.unpack_from(order + "HH", header, 42)
        handle.seek(phoff)
        table = handle.read(phentsize * phnum)
    types = (struct.unpack_from(order + "I", table, i * phentsize)[0] for i in range(phnum))
    return 3 not in types  # PT_INTERP: a dynamic executable names its loader


def find_busybox(candidates: tuple[Path, ...] = BUSYBOX_PATHS) -> Path:
    """The first static busybox among ``candidates``.

    Raises:
        WorkloadImageError: none exists, or only a dynamically linked one.
    """
    dynamic = []
    for path in candidates:
        if path.is_file():
            if is_static_elf(path):
                return path
            dynamic.append(str(path))
    found = f" ({', '.join(dynamic)} is dynamically linked)" if dynamic else ""
    where = " or ".join(str(path) for path in candidates)
    raise WorkloadImageError(f"no static busybox at {where}{found}; {BUSYBOX_HINT}")


def rootfs_tar(busybox: Path) -> bytes:
    """The image's file system as an uncompressed tar archive, built in memory."""
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True,
                             timeout=10).stdout.split()
    now = int(time.time())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777), ("root", 0o700)):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, now
            tar.addfile(info)
        tar.add(str(busybox), arcname="bin/busybox")
        for applet in sorted(set(applets) - {"busybox"}):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, "busybox", 0o777, now
            tar.addfile(info)
        for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"), ("etc/group", "root:x:0:\n")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, now
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def ensure_workload_image(client: docker.DockerClient, *, busybox: Path | None = None) -> str:
    """The tag of the stand-in workload image, imported into the engine unless present.

    Raises:
        WorkloadImageError: the image is missing and no static busybox is available.
    """
    from .engine import docker_sdk

    try:
        client.images.get(WORKLOAD_IMAGE)
        return WORKLOAD_IMAGE
    except docker_sdk().errors.ImageNotFound:
        pass
    archive = rootfs_tar(busybox or find_busybox())
    client.api.import_image(src=archive, repository=WORKLOAD_REPOSITORY, tag=WORKLOAD_IMAGE_VERSION,
                            changes=["ENV PATH=/bin", 'CMD ["sh"]'])
    client.images.get(WORKLOAD_IMAGE)  # raises if the import did not produce the tag
    return WORKLOAD_IMAGE


def _seconds(value: float) -> str:
    if value < 0:
        raise ValueError(f"duration_s must be >= 0, got {value}")
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


def workload_command(*, duration_s: float | None = None, exit_code: int = 0,
                     memory_hog: bool = False, hog_on_signal: bool = False) -> list[str]:
    """The command (``["sh", "-c", script]``) of a stand-in container playing a task.

    - ``duration_s`` given: run that long, then exit with ``exit_code`` (0-255);
    - no duration: run until stopped;
    - ``memory_hog``: allocate memory (a string doubling in the shell) until the OOM killer
      ends the container; with ``duration_s``, run that long first (the time the simulated
      usage crosses the container's limit);
    - ``hog_on_signal``: whatever else it does, start that allocation as soon as it receives
      :data:`HOG_SIGNAL` (SIGUSR1), so that the OOM kill comes when the caller decides (the
      Docker agent, at the simulated time the usage crosses the limit) rather than when a
      duration fixed at start runs out.

    Only ever run a hog, or arm one, under a hard ``mem_limit`` (and no swap beyond it): the
    limit is what makes the kernel end it. Without one the string grows until the *host*
    runs out of memory, and the host's OOM killer may pick any process, not the container.
    Unarmed, SIGUSR1 would simply end the shell (its default action), which is also why the
    trap is only set when asked for.

    In every case SIGTERM ends the workload at once with status 143.
    """
    if not 0 <= exit_code <= 255:
        raise ValueError(f"exit_code must be 0..255, got {exit_code}")
    # `sleep & wait` rather than a foreground sleep: a trapped signal interrupts `wait`
    # at once, while the shell would run the trap only after a foreground child ended.
    lines = [f"trap 'exit {SIGTERM_EXIT_CODE}' TERM"]
    if hog_on_signal:
        lines.append(f"trap '{_HOG_LOOP}' {HOG_SIGNAL.name.removeprefix('SIG')}")
    if duration_s is not None:
        lines.append(f"sleep {_seconds(duration_s)} & wait $!")
    if memory_hog:
        lines.append(_HOG_LOOP)
    elif duration_s is None:
        lines.append("while :; do sleep 3600 & wait $!; done")
    else:
        lines.append(f"exit {exit_code}")
    return ["sh", "-c", "; ".join(lines)]


def describe_command(command: list[str]) -> str:
    """The command as one shell line (for logs and error messages)."""
    return shlex.join(command)
