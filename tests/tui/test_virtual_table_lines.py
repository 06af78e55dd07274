"""The table's line builder reports each line's width in cells without measuring it again; the
drawn row is fitted by that width, so it must be exact for any text (double-width characters
cut in half, Norwegian letters, empty cells, columns narrower than their minimum)."""

from __future__ import annotations

import random

from rich.cells import cell_len

from partner_tui.widgets.virtual_table import MARK_NONE, MARK_SELECTED, Column, VirtualTable


def test_line_width_is_its_cell_length() -> None:
    columns = [
        Column("a", "A", width=9),
        Column("b", "B", flex=3, min_width=16),
        Column("c", "C", flex=2, min_width=10, align="right"),
        Column("d", "D", width=3),
    ]
    rnd = random.Random(1)
    chars = "abc æøå ÆØÅ 客户公司 é\u0301"
    checked = 0
    for selectable in (True, False):
        table = VirtualTable(columns, selectable=selectable)
        for width in range(0, 140, 3):
            widths = table._column_widths(width)
            for _ in range(60):
                values = ["".join(rnd.choices(chars, k=rnd.randint(0, 40))) for _ in columns]
                for mark in (MARK_NONE, MARK_SELECTED):
                    line, cells = table._line(values, widths, mark)
                    assert cell_len(line) == cells, (width, values, line, cells)
                    checked += 1
    assert checked == 2 * 47 * 60 * 2
