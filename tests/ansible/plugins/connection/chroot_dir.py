"""Ansible connection plugin: run tasks inside a directory tree with chroot(8).

The converge test applies the real roles to a throwaway Debian root made with debootstrap. Ansible
core has no chroot connection (community.general's is not installable here without Galaxy), and
this one is small: the local connection, with every command wrapped in ``chroot ROOT /bin/sh -c``
and file transfers mapped into ROOT. ``ansible_host`` is the root directory. The environment
variable ``debian_chroot`` is set inside, which is how Ansible's ``is_chroot`` fact (and so the
roles' "do not start services here" switches) recognises a chroot.
"""

from __future__ import annotations

import os
import shlex
import shutil

from ansible.errors import AnsibleError, AnsibleFileNotFound
from ansible.plugins.connection.local import Connection as LocalConnection

DOCUMENTATION = """
    name: chroot_dir
    short_description: run tasks inside a directory with chroot(8) (benchgui's converge test)
    description:
        - Like the local connection, but every command runs in chroot(8) of the directory given
          as ansible_host, and files are copied into and out of that directory.
    author: benchgui
    options:
        become_success_timeout:
            type: int
            default: 10
            description: Seconds to wait for become to succeed.
            vars:
                - name: ansible_local_become_success_timeout
        become_strip_preamble:
            type: bool
            default: true
            description: Strip internal become output preceding command execution.
            vars:
                - name: ansible_local_become_strip_preamble
    extends_documentation_fragment:
        - connection_pipelining
"""


class Connection(LocalConnection):
    """Local connection whose commands and files live under a chroot directory."""

    transport = "chroot_dir"
    has_pipelining = True

    @property
    def root(self) -> str:
        root = self._play_context.remote_addr
        if not root or not os.path.isdir(os.path.join(root, "usr")):
            raise AnsibleError(f"chroot_dir: {root!r} is not a root file system directory")
        return os.path.abspath(root)

    def _connect(self) -> Connection:
        super()._connect()
        self._play_context.remote_user = "root"
        return self

    def exec_command(self, cmd, in_data=None, sudoable=True):  # type: ignore[no-untyped-def]
        inner = cmd if isinstance(cmd, str) else " ".join(shlex.quote(c) for c in cmd)
        wrapped = (
            "env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "
            "LANG=C.UTF-8 debian_chroot=ansible-converge DEBIAN_FRONTEND=noninteractive "
            f"chroot {shlex.quote(self.root)} /bin/sh -c {shlex.quote(inner)}"
        )
        return super().exec_command(wrapped, in_data=in_data, sudoable=sudoable)

    def _inside(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def put_file(self, in_path: str, out_path: str) -> None:
        if not os.path.exists(in_path):
            raise AnsibleFileNotFound(f"file or module does not exist: {in_path}")
        dest = self._inside(out_path)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(in_path, dest)

    def fetch_file(self, in_path: str, out_path: str) -> None:
        shutil.copyfile(self._inside(in_path), out_path)
