"""Secrets in URLs stay out of the server's logs.

The chat socket carries its token in the query string (browsers cannot set headers on
WebSocket requests), and uvicorn logs each request's path with its query. The filter
blanks the value of every `t=` parameter before a record is written.
"""

from __future__ import annotations

import logging
import re

SECRET_PARAMETER = re.compile(r"([?&]t=)[^&\s\"]*")


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                SECRET_PARAMETER.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = SECRET_PARAMETER.sub(r"\1[redacted]", record.msg)
        return True


def install() -> None:
    """On the server's loggers (access lines and WebSocket lines)."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(RedactTokens())
