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


def test_columns_fit_a_narrow_table() -> None:
    """Columns whose minimums add up to more than the table narrow (cut with …) so the line
    is exactly the table's width: the last column and the scrollbar stay on screen."""
    columns = [
        Column("orgnr", "Orgnr", width=9),
        Column("name", "Navn", flex=3, min_width=16),
        Column("groups", "Grupper", flex=2, min_width=10),
        Column("altinn", "Altinn", width=7),
        Column("users", "Brukere", flex=4, min_width=16),
    ]
    table = VirtualTable(columns, selectable=True)
    mark, gaps = len(MARK_NONE), len(columns)
    for width in range(mark + gaps + len(columns), 80):
        widths = table._column_widths(width)
        assert mark + gaps + sum(widths) == width, (width, widths)
        assert all(w >= 1 for w in widths)
        values = ["914 123 456", "Bakeri", "Bergen", "ja", "Kari"]
        line, cells = table._line(values, widths, MARK_NONE)
        assert cells <= width and cell_len(line) == cells
    narrow = table._column_widths(58)  # 60 columns less the scrollbar
    assert narrow[0] == 9 and narrow[3] == 7  # the flexible columns gave first
    assert sum(narrow) + mark + gaps == 58
