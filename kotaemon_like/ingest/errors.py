"""The error every loader and file check raises for a file that cannot be indexed."""


class LoadError(Exception):
    """The file cannot be indexed; the message is shown to the user next to the file name."""
