"""Grids of runs: a specification (TOML or preset), the engine that runs its cells resumably, executors."""
