"""Stand-in of Specter's package (see ../../README.md)."""
