"""Paper ballot sheets: printed with a sheet id and registration marks, read back by machine."""
