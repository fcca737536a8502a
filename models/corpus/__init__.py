"""The pinned training corpus: manifests, fetch tool, archive reader, selection.

* ``python.toml`` / ``npm.toml``: pinned packages, one ``[[package]]`` each
  (``name``, ``version``, ``split``); the split comes from :func:`split_of`.
* ``python -m models.corpus fetch``: download them into the cache.
* ``python -m models.corpus select``: rebuild the manifests from the candidate
  lists (see :mod:`models.corpus.select`).
* :func:`iter_sources`: the corpus-eligible source files of an archive.

See ``README.md`` in this directory.
"""

from .archive import SourceFile, excluded_reason, iter_sources
from .manifest import Package, read_manifest, write_manifest
from .split import normalize_name, split_of

__all__ = [
    "Package",
    "SourceFile",
    "excluded_reason",
    "iter_sources",
    "normalize_name",
    "read_manifest",
    "split_of",
    "write_manifest",
]
