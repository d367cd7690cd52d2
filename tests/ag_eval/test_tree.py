"""Folders a program wrote into are removed whatever it made of them."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from ag_eval.tree import empty_folder, remove_folder


def _deep(root, levels: int) -> None:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(levels):  # descriptor-relative: deeper than PATH_MAX
        os.mkdir("deep-folder", dir_fd=fd)
        sub = os.open("deep-folder", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = sub
    with open(os.open("secret", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd), "w") as f:
        f.write("x")
    os.chmod(fd, 0)
    os.close(fd)


@pytest.fixture
def shm_path(tmp_path):
    """A folder on a tmpfs where there is one (as the engine's work folders are): deep trees
    are slow to walk on a disk-backed overlay."""
    if not os.access("/dev/shm", os.W_OK):
        yield tmp_path
        return
    path = tempfile.mkdtemp(dir="/dev/shm")
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


def test_a_tree_deeper_than_path_max_and_the_recursion_limit_is_emptied(shm_path):
    tmp_path = shm_path
    _deep(tmp_path, 1100)
    (tmp_path / "file").write_text("x")
    assert empty_folder(tmp_path)
    assert tmp_path.is_dir() and not any(tmp_path.iterdir())


def test_links_are_removed_never_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    work = tmp_path / "work"
    work.mkdir()
    (work / "link").symlink_to(outside)
    (work / "sub").mkdir()
    (work / "sub" / "link").symlink_to(outside / "keep")
    os.mkfifo(work / "fifo")
    assert remove_folder(work)
    assert not work.exists()
    assert (outside / "keep").read_text() == "x"


def test_a_folder_without_permissions_is_removed(tmp_path):
    locked = tmp_path / "w" / "locked"
    locked.mkdir(parents=True)
    (locked / "f").write_text("x")
    locked.chmod(0)
    (tmp_path / "w").chmod(0o500)
    assert remove_folder(tmp_path / "w")
    assert not (tmp_path / "w").exists()
