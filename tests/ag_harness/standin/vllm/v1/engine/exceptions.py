class EngineDeadError(Exception):
    """Raised when the engine core dies. Unrecoverable."""

    def __init__(self, *args, suppress_context: bool = False):
        super().__init__("EngineCore encountered an issue. See stack trace (above) for the root cause.", *args)
        self.__suppress_context__ = suppress_context
