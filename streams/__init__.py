"""Sources, schemas, synthetic generators and environments (installed as ``onlinekit.streams``).

This package never imports the learner families or the engine.
"""

from onlinekit.streams.block import ROLES, Block, Chunk
from onlinekit.streams.env import Environment, Step
from onlinekit.streams.errors import MissingDataError, StreamError
from onlinekit.streams.expr import ColumnExpr, ExprError
from onlinekit.streams.open import SOURCE_KINDS, open_source
from onlinekit.streams.schema import GroupDef, Schema, parse_group
from onlinekit.streams.source import ArraySource, BadRow, Source
from onlinekit.streams.stream import Stream, StreamPosition

__all__ = [
    "ROLES",
    "ArraySource",
    "BadRow",
    "Block",
    "Chunk",
    "ColumnExpr",
    "Environment",
    "ExprError",
    "GroupDef",
    "MissingDataError",
    "SOURCE_KINDS",
    "Schema",
    "Source",
    "Step",
    "Stream",
    "StreamError",
    "StreamPosition",
    "open_source",
    "parse_group",
]
