"""The `benign` command line: thin typer commands over `theory`, `empirical` and `grids`."""
