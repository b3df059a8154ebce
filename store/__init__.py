"""Result files, the bottom layer every package may use: one atomic writer, netCDF, provenance, cell grids."""
