"""The package's exceptions: one base, each also the builtin a caller would
catch without knowing the package (a bad value is a ``ValueError``)."""


class Error(Exception):
    """Base of every error the package raises (an exception raised by your
    ``predict`` is re-raised as it was, not wrapped)."""


class InvalidInputError(Error, ValueError):
    """A bad setting, image, label map, target or model output; the message
    names the value."""


class LimitError(Error, ValueError):
    """A request above the engine's memory limits (``max_pixels``, segments,
    mask entries, batch bytes), refused before anything is allocated."""


class SingularError(Error, ArithmeticError):
    """A surrogate that cannot be solved."""


class ModelError(Error, RuntimeError):
    """A model or runtime the engine loads itself failed."""


class SlideError(Error, OSError):
    """A slide that cannot be opened or read (missing, not a slide, a
    compression the reader lacks, OpenSlide's library not found), or an
    OME-TIFF that cannot be written; the message names the file and why."""
