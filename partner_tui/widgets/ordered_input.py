"""A text field whose editing keys take effect in the order they were typed.

Textual's ``Input`` inserts a printable key in its own handler, but its editing keys
(backspace, ctrl+u, ctrl+w, the arrows, …) are *bindings*, which Textual runs only after the
key has bubbled up to the app. When keys arrive in one read (fast typing, a paste, an SSH link
batching keys), a letter typed after a backspace is inserted before the backspace runs:
"berg", backspace, "x" gave "berg" instead of "berx", and in the user picker "rune", four
backspaces, "kari" picked Rune. Here the field runs its own bindings as the key reaches it,
in the same queue as the letters, and the key goes no further.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

__all__ = ["OrderedInput"]


class OrderedInput(Input):
    async def _on_key(self, event: events.Key) -> None:
        await super()._on_key(event)  # types a printable key (and restarts the cursor blink)
        if event.is_printable:
            return
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return
