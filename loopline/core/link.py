"""`Link`: a URL returned by a func, with the label to show for it."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlparse

from loopline.errors import UsageError


@dataclasses.dataclass(frozen=True)
class Link:
    """A labelled URL (Sematic's `Link`). The URL must have a scheme and a host."""

    label: str
    url: str

    def __post_init__(self) -> None:
        parsed = urlparse(self.url)
        if not parsed.scheme:
            raise UsageError(f"Incorrect URL, missing scheme (e.g. https://): {self.url!r}")
        if not parsed.netloc:
            raise UsageError(
                f"Incorrect URL, missing netloc (the host, as in https://host/...): {self.url!r}"
            )
