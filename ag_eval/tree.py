"""Removing folders a program wrote into, whatever it made of them.

A compile step runs with the work folder writable, and some compilers run the program's
own code (Nim's staticExec, Template Haskell, Racket and Crystal macros): it may leave a
tree deeper than PATH_MAX or than Python's recursion limit (``shutil.rmtree`` raises
RecursionError there), symbolic links anywhere, folders without permissions. These
functions walk with descriptor-relative calls only, one descriptor at a time, never
follow a link, and never recurse.
"""

from __future__ import annotations

import os
import stat

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def empty_folder(path: str | os.PathLike) -> bool:
    """Remove everything inside ``path`` (kept itself). True when it is empty afterwards;
    a missing folder counts as empty."""
    try:
        top = os.open(path, _DIR_FLAGS)
    except FileNotFoundError:
        return True
    try:
        return _empty(top)
    finally:
        os.close(top)


def remove_folder(path: str | os.PathLike) -> bool:
    """Remove ``path`` and everything in it. True when it is gone."""
    path = os.fspath(path)
    empty_folder(path)
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


def _entries(fd: int) -> list[str]:
    with os.scandir(fd) as it:
        return [e.name for e in it]


def _open_sub(parent: int, name: str) -> int | None:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except PermissionError:
        try:
            os.chmod(name, 0o700, dir_fd=parent)  # a folder (lstat said so), not a link
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except OSError:
            return None
    except OSError:
        return None


def _remove_entry(fd: int, name: str) -> bool | None:
    """True: removed. None: a folder that is not empty (go down into it). False: stuck."""
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        if stat.S_ISDIR(st.st_mode):
            os.rmdir(name, dir_fd=fd)
        else:
            os.unlink(name, dir_fd=fd)
        return True
    except FileNotFoundError:
        return True
    except OSError as exc:
        if stat.S_ISDIR(st.st_mode) and exc.errno in (39, 66):  # ENOTEMPTY (Linux), ENOTEMPTY (BSD)
            return None
        if isinstance(exc, PermissionError):
            try:
                os.chmod(fd, 0o700)
            except OSError:
                return False
            return _remove_entry_once(fd, name, stat.S_ISDIR(st.st_mode))
        return False


def _remove_entry_once(fd: int, name: str, is_dir: bool) -> bool | None:
    try:
        if is_dir:
            os.rmdir(name, dir_fd=fd)
        else:
            os.unlink(name, dir_fd=fd)
        return True
    except OSError as exc:
        return None if is_dir and exc.errno in (39, 66) else False


def _empty(top: int) -> bool:
    cur = os.dup(top)
    depth = 0
    stuck: set[tuple[int, int]] = set()  # (device, inode) of folders that cannot be emptied
    try:
        while True:
            down = None
            for name in _entries(cur):
                outcome = _remove_entry(cur, name)
                if outcome is None:
                    sub = _open_sub(cur, name)
                    if sub is None:
                        continue
                    st = os.fstat(sub)
                    if (st.st_dev, st.st_ino) in stuck:
                        os.close(sub)
                        continue
                    down = sub
                    break
            if down is not None:
                os.close(cur)
                cur, depth = down, depth + 1
                continue
            if depth == 0:
                break
            st = os.fstat(cur)
            if _entries(cur):  # what is left here cannot be removed: do not come back
                stuck.add((st.st_dev, st.st_ino))
            up = os.open("..", _DIR_FLAGS, dir_fd=cur)
            os.close(cur)
            cur, depth = up, depth - 1
        return not _entries(top)
    finally:
        os.close(cur)
