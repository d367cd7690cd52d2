class VLLMValidationError(ValueError):
    """An invalid request parameter (upstream's ``vllm.exceptions.VLLMValidationError``)."""

    def __init__(self, message: str, *, parameter: str | None = None, value=None):
        super().__init__(message)
        self.parameter = parameter
        self.value = value
