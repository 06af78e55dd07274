"""What a terminal would show after the frames an app wrote: rows of text, colours dropped.

The keystroke benchmark stops its clock at the first frame whose *output* shows the
keystroke's effect, judged the same way for both apps: by reading these rows, not the
widgets' state (a widget can hold the new text while the frame that went out still shows the
old one). Textual's frames are cursor moves (``ESC[row;colH``) each followed by the text of one
line piece in SGR colour codes; that is all this understands.
"""

from __future__ import annotations

import re

from rich.cells import get_character_cell_size

__all__ = ["ShadowTerminal"]

_MOVE = re.compile(r"\x1b\[(\d+);(\d+)H")
_OTHER_ESCAPES = re.compile(r"\x1b\[[0-9;:?]*[A-GJKSTfhlmsu]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


class ShadowTerminal:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self._cells = [[" "] * width for _ in range(height)]

    def write(self, data: str) -> None:
        """Apply one frame's output."""
        pieces = _MOVE.split(data)
        for i in range(1, len(pieces) - 2, 3):
            y, x = int(pieces[i]) - 1, int(pieces[i + 1]) - 1
            text = _OTHER_ESCAPES.sub("", pieces[i + 2]).replace("\n", "")
            if not 0 <= y < self.height:
                continue
            row = self._cells[y]
            for char in text:
                size = get_character_cell_size(char)
                if size == 0 or x >= self.width:
                    continue
                row[x] = char
                if size == 2 and x + 1 < self.width:
                    row[x + 1] = ""  # the right half of a wide character
                x += size

    def row(self, y: int) -> str:
        """Row ``y`` (0-based) as text."""
        return "".join(self._cells[y])
