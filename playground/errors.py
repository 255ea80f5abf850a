"""The small error hierarchy of the playground core.

Every error a caller can act on derives from :class:`PlaygroundError`. Errors that are
caused by bad input also derive from :class:`ValueError`, so ``except ValueError`` keeps
working for code that does not know this module.
"""


class PlaygroundError(Exception):
    """Base class of every error raised on purpose by the playground core."""


class ConfigError(PlaygroundError, ValueError):
    """A registry file or a configuration value is invalid; the message names the key."""


class SettingsError(PlaygroundError, ValueError):
    """A generation request carries an invalid setting; the message names the field."""


class UnknownModelError(PlaygroundError, ValueError):
    """A model or adapter name is not in the registry."""


class UnsafeArtifactError(PlaygroundError):
    """A model or adapter folder was refused before anything in it was loaded."""


class AdapterMismatchError(UnsafeArtifactError):
    """An adapter was trained on another base model than the one the registry gives it."""


class ModelLoadError(PlaygroundError):
    """No source could provide a model; the message lists what each source said."""


class GenerationError(PlaygroundError):
    """Generation failed part-way; raised to the caller of the stream."""


class BusyError(PlaygroundError):
    """Too many requests already wait for a model; the caller may try again in a few seconds."""


class UnsupportedError(PlaygroundError):
    """The backend of a model cannot do what was asked (e.g. a server that gives no logprobs)."""


class RemoteError(PlaygroundError):
    """A remote server could not be reached, or refused a request; the message names the model."""
