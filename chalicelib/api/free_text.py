"""Free text people type and Pregón stores (template sources, register notes): any character but
NUL and the other C0 control characters, which no editor produces and which break e-mail headers,
CSV exports and terminals. Tab, CR and LF are text. (Q4; issue 8, item 11.)"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def no_control_characters(value: str) -> str:
    found = _CONTROL.search(value)
    if found:
        raise PydanticCustomError(
            "control_character",
            "must not contain control characters such as NUL (found U+{code} at position {position}); "
            "only tab, CR and LF are allowed",
            {"code": f"{ord(found.group()):04X}", "position": found.start()},
        )
    return value


FreeText = Annotated[str, AfterValidator(no_control_characters)]
