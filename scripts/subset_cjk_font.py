"""Cut Noto Sans SC down to the characters the notice card's Chinese font holds.

    .venv/bin/python scripts/subset_cjk_font.py "NotoSansSC[wght].ttf" \
        broadcaster/assets/fonts/NotoSansSC-GB2312.ttf

The whole variable font is 17.8 MB (31,036 glyphs); the subset keeps every weight and the
characters of :func:`broadcaster.channels.card_fonts.cjk_subset` (GB 2312 and the punctuation
Chinese text uses), about 3.9 MB. The source is Noto Sans SC 2.004 as Google Fonts publishes
it (``ofl/notosanssc/NotoSansSC[wght].ttf``); the script refuses any other file, so the
subset in the repository can always be made again from the same input, and makes the same
bytes each time (no timestamp is written). It needs fontTools (the ``test`` extra); it never
downloads anything. See broadcaster/assets/fonts/README.md.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from fontTools import subset

from broadcaster.channels.card_fonts import cjk_subset

SOURCE_SHA256 = "a3041811a78c361b1de50f953c805e0244951c21c5bd412f7232ef0d899af0da"


def main(source: Path, target: Path) -> int:
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        print(f"{source} is not Noto Sans SC 2.004 (sha256 {digest})", file=sys.stderr)
        return 1
    options = subset.Options()
    options.name_IDs = ["*"]  # keep the copyright, licence and its URL in the name table
    options.name_languages = ["*"]
    options.recalc_timestamp = False  # the same bytes every time
    options.notdef_outline = True
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=cjk_subset())
    subsetter.subset(font)
    subset.save_font(font, str(target), options)
    size = target.stat().st_size
    print(f"{target}: {len(font.getBestCmap())} characters, {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
