"""The ``vmp3`` command."""
