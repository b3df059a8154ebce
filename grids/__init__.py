"""Result grids: xarray Datasets in netCDF with provenance, written atomically, resumable per cell."""
