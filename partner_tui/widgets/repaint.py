"""Hand a widget's repaint to its screen now, so it is in the keystroke's frame.

Textual repaints a widget in two hops: ``refresh()`` marks it and wakes the widget's own
message loop, whose idle handler then tells the screen (an ``Update`` message); the screen
draws at its next timer tick once its queue is empty. When one widget's handler refreshes
*another* widget (the search field's keystroke filters the table and updates the count), the
screen's loop may already be scheduled ahead of that widget's: it takes the field's own
``Update``, draws the frame, and only then hears of the table, which waits for the next tick,
~17–35 ms later. Seen on the Clients screen: the field showed the new letter at once and the
rows one or two frames later. Doing the widget's idle step at once queues its ``Update``
before the field's, so all of the keystroke lands in one frame.
"""

from __future__ import annotations

from textual.widget import Widget

__all__ = ["hand_to_screen"]


def hand_to_screen(widget: Widget) -> None:
    """Tell ``widget``'s screen about the repaint it has asked for (what its next idle would
    do; that idle then finds nothing left)."""
    widget._check_refresh()
