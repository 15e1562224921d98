"""The report commands (``check``, ``components``, ``health``, ``blast-radius``) and ``snapshot save``."""
