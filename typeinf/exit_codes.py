"""Exit codes (every command): 0 success (warnings on stderr), 1 `--check` found something to
change, 2 usage or configuration error, 123 some files could not be processed (the rest were)."""

EXIT_OK, EXIT_CHANGES, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 123
