"""Pin every Hub entry of a registry file to the commit its branch points at now.

    python -m playground.models.pin                 # rewrite playground/models/registry.yaml in place
    python -m playground.models.pin --dry-run       # only print what would change
    python -m playground.models.pin --registry other.yaml --branch main

Needs the Hub. A model revision is pinned only if it holds safetensors weights, an adapter
revision only if it holds ``adapter_model.safetensors``. Comments and layout of the YAML
file are kept: only ``revision:`` lines change.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path

from playground.errors import ConfigError, UnsafeArtifactError
from playground.models.registry import DEFAULT_REGISTRY_PATH, load_registry

log = logging.getLogger(__name__)

# (repo_id, branch) -> (commit sha, file names at that commit)
RevisionLookup = Callable[[str, str], tuple[str, list[str]]]

_ITEM_RE = re.compile(r"^(\s*)- ", re.MULTILINE)
_REVISION_RE = re.compile(r"^(\s*revision:)[^\n]*$", re.MULTILINE)


def hub_lookup(repo_id: str, branch: str) -> tuple[str, list[str]]:
    """Ask the Hub for the commit sha of ``branch`` and the files it holds."""
    from huggingface_hub import HfApi

    info = HfApi().model_info(repo_id, revision=branch)
    return info.sha, [s.rfilename for s in info.siblings or []]


def pin_text(text: str, shas: dict[str, str]) -> str:
    """Rewrite the ``revision:`` line of each list item whose ``repo_id`` is in ``shas``."""
    starts = [m.start() for m in _ITEM_RE.finditer(text)] + [len(text)]
    out = [text[: starts[0]]]
    for begin, end in itertools.pairwise(starts):
        item = text[begin:end]
        repo = re.search(r"^\s*(?:- )?repo_id:\s*([^\s#]+)", item, re.MULTILINE)
        if repo and repo.group(1) in shas:
            if not _REVISION_RE.search(item):
                raise ConfigError(f"{repo.group(1)}: add a `revision:` line to its entry to pin it")
            item = _REVISION_RE.sub(rf"\g<1> {shas[repo.group(1)]}", item, count=1)
        out.append(item)
    return "".join(out)


def resolve_shas(registry_path: Path, branch: str, lookup: RevisionLookup) -> dict[str, str]:
    """Commit shas for every Hub entry of the registry, checked for safetensors."""
    registry = load_registry(registry_path)
    entries = [(m.repo_id, False) for m in registry.models.values() if m.repo_id]
    entries += [(a.repo_id, True) for a in registry.adapters.values() if a.repo_id]
    shas: dict[str, str] = {}
    for repo_id, is_adapter in entries:
        sha, files = lookup(repo_id, branch)
        ok = "adapter_model.safetensors" in files if is_adapter else any(f.endswith(".safetensors") for f in files)
        if not ok:
            raise UnsafeArtifactError(f"{repo_id}@{sha}: no safetensors weights; not pinned")
        shas[repo_id] = sha
    return shas


def main(argv: list[str] | None = None, lookup: RevisionLookup = hub_lookup) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY_PATH, help="registry YAML file")
    parser.add_argument("--branch", default="main", help="branch whose current commit is pinned")
    parser.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    shas = resolve_shas(args.registry, args.branch, lookup)
    old = args.registry.read_text(encoding="utf-8")
    new = pin_text(old, shas)
    for repo_id, sha in shas.items():
        log.info("%s -> %s", repo_id, sha)
    if new == old:
        log.info("all entries already pinned")
    elif not args.dry_run:
        args.registry.write_text(new, encoding="utf-8")
        load_registry(args.registry)  # the rewritten file must still be valid
        log.info("wrote %s", args.registry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
