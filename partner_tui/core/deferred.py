"""A syncer built on first use, so that opening the app imports no network or ORM stack.

``partner-tui`` hands the app a :class:`DeferredSyncer` instead of a ``Syncer``: the app starts
its first sync after the dashboard has drawn its figures, in a worker thread, and only then are
httpx, pydantic, SQLAlchemy (and, for ``demo``, the embedded server) imported and set up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

__all__ = ["DeferredSyncer"]


class DeferredSyncer:
    """Stands in for ``partner_tui.core.sync.Syncer`` (``sync()`` and ``api``).

    ``build(stack)`` makes the real syncer on first use; whatever it opens (API client, server)
    it enters on ``stack``, which :meth:`close` closes. Thread-safe: the app calls it from its
    sync and bulk workers.
    """

    def __init__(self, build: Callable[[ExitStack], Any]) -> None:
        self._build = build
        self._stack = ExitStack()
        self._syncer: Any = None
        self._lock = threading.Lock()

    def ready(self) -> Any:
        """The real syncer, built now if it was not yet."""
        with self._lock:
            if self._syncer is None:
                self._syncer = self._build(self._stack)
            return self._syncer

    @property
    def built(self) -> bool:
        return self._syncer is not None

    @property
    def api(self) -> Any:
        return self.ready().api

    def sync(self, *args: Any, **kwargs: Any) -> Any:
        return self.ready().sync(*args, **kwargs)

    def close(self) -> None:
        with self._lock:
            self._stack.close()
            self._syncer = None

    def __enter__(self) -> DeferredSyncer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
