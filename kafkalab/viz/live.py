"""Helpers shared by live views: a widget box that also renders as static HTML, and a
bounded live loop that never writes to an Output from a thread (DESIGN §4)."""
from __future__ import annotations

import asyncio
from typing import Callable


class StaticFallback:
    """Mixin: display ``self.box`` as a widget, with ``self.static_html()`` beside it so
    papermill output and GitHub show the same picture without a frontend."""

    box = None

    def static_html(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.box._repr_mimebundle_(include=include, exclude=exclude)
        bundle["text/html"] = self.static_html()
        return bundle


def start_loop(step: Callable[[], bool], interval_s: float) -> asyncio.Task | None:
    """Run ``step()`` every ``interval_s`` on the kernel's event loop until it returns False.

    Returns the task, or None when no loop is running (plain Python, papermill without a
    frontend): callers then step synchronously.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return None
        if not loop.is_running():
            return None

    async def run():
        while step():
            await asyncio.sleep(interval_s)

    return loop.create_task(run())
