"""Records and record batches (the unit of storage and transfer, DESIGN §2.1)."""
from .batch import CODECS, Record, RecordBatch

__all__ = ["CODECS", "Record", "RecordBatch"]
